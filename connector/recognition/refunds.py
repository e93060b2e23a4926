"""The money side of refunds, lost disputes and voids, applied to the store.

The ledger takes the credits back (``take_back``); this module decides how many, from the pool's
state at the refund's moment, and records the money event that recognition replays. Both happen
in the caller's transaction and both are idempotent on (pool, reference).

A refund's state is everything recorded so far that occurred at or before its moment: at one
instant events take effect in the order creditsync recorded them, and the money event keeps its
place in that order (``ledger_seq``) so that recognition replays the same history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from connector.errors import Conflict, InvalidInput
from connector.ledger import accounts
from connector.ledger.models import EntryKind
from connector.ledger.pools import get_pool, last_entry_id, take_back
from connector.money import require_minor_units
from connector.recognition import loader
from connector.recognition.refund import split_refund
from connector.recognition.state import PoolState
from connector.recognition.stream import PoolEvent, build, replay
from connector.recognition.tables import recognition_money
from connector.timeutil import require_aware, utcnow

MAX_REFERENCE = 300


@dataclass(frozen=True)
class RefundApplied:
    pool_id: int
    reference: str
    kind: str  # refund | void
    amount: int  # refunded (void: the deferred balance reversed)
    credits: int  # clawed back by the ledger
    to_deferred: int  # Dr deferred revenue
    contra: int  # Dr refunds (contra revenue)
    deferred_before: int | None  # None on a replay: the first call's figures are not kept
    credits_before: int | None  # credits left in the segment at that moment
    replayed: bool = False


def require_reference(reference: str) -> str:
    if not isinstance(reference, str) or not reference.strip():
        raise InvalidInput("reference", "is empty", "pass the refund's or dispute's platform id")
    if len(reference) > MAX_REFERENCE:
        raise InvalidInput("reference", f"is longer than {MAX_REFERENCE} characters")
    return reference


def history(conn: Connection, pool_id: int, moment: datetime) -> tuple[PoolState, list[PoolEvent]]:
    """The pool's starting state and every event recorded so far that occurred at or before
    ``moment``, in replay order: what an event recorded now at ``moment`` comes after."""
    info = loader.pool_infos(conn, [pool_id], with_revenue_only=False)[pool_id]
    ledger = loader.ledger_rows(conn, [pool_id], at_or_before=moment)[pool_id]
    money = loader.money_rows(conn, [pool_id], at_or_before=moment)[pool_id]
    billed_at = info.effective_at if info.effective_at <= moment else None
    return PoolState.start(info.terms), build(ledger, money, billed_at)


def state_at(conn: Connection, pool_id: int, moment: datetime) -> PoolState:
    """The pool's money for an event recorded now at ``moment`` (see ``history``)."""
    return replay(*history(conn, pool_id, moment))


def _existing(conn: Connection, pool_id: int, reference: str) -> RefundApplied | None:
    row = (
        conn.execute(
            select(recognition_money).where(
                recognition_money.c.pool_id == pool_id, recognition_money.c.reference == reference
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return RefundApplied(
        pool_id=pool_id,
        reference=reference,
        kind=row["kind"],
        amount=row["amount"],
        credits=row["credits"],
        to_deferred=row["to_deferred"],
        contra=row["contra"],
        deferred_before=None,
        credits_before=None,
        replayed=True,
    )


def _record(
    conn: Connection, kind: str, applied: RefundApplied, occurred_at: datetime, ledger_seq: int
) -> RefundApplied:
    conn.execute(
        recognition_money.insert().values(
            pool_id=applied.pool_id,
            kind=kind,
            reference=applied.reference,
            amount=applied.amount,
            credits=applied.credits,
            to_deferred=applied.to_deferred,
            contra=applied.contra,
            occurred_at=occurred_at,
            recorded_at=utcnow(),
            ledger_seq=ledger_seq,
        )
    )
    return applied


def _lock_pool(conn: Connection, pool_id: int) -> int:
    """Serialize with burns of the pool's account (they change what the refund sees)."""
    pool = get_pool(conn, pool_id)
    accounts.lock(conn, pool.account_id)
    return pool.revenue_amount


def apply_refund(
    conn: Connection, pool_id: int, amount: int, reference: str, occurred_at: datetime
) -> RefundApplied:
    """Refund ``amount`` (a refund, a credit note or a lost dispute) from one pool.

    From the pool's state at ``occurred_at`` (deferred D, credits Q left in the segment) and R,
    the part of its amount not yet refunded: a refund that brings the refunds to the pool's
    amount takes back every credit the pool holds; otherwise k = min(Q, round(Q x F / D)), or
    with D = 0 k = min(Q, round(Q x F / R)), are clawed back through the ledger (see
    ``refund.split_refund``). min(F, D) reverses deferred revenue and the rest reverses
    recognized revenue through the contra account. A replay with the same reference returns the
    first result; a different amount is a conflict.
    """
    if require_minor_units(amount, "amount") <= 0:
        raise InvalidInput("amount", f"{amount} is not positive", "refund at least one minor unit")
    reference = require_reference(reference)
    occurred_at = require_aware(occurred_at, "occurred_at")
    revenue = _lock_pool(conn, pool_id)
    previous = _existing(conn, pool_id, reference)
    if previous is not None:
        if previous.kind != "refund" or previous.amount != amount:
            raise Conflict(
                f"reference {reference!r} already recorded a {previous.kind} of "
                f"{previous.amount} on pool {pool_id}; use a new reference for a new refund"
            )
        return previous
    unrefunded = revenue - refunded_so_far(conn, [pool_id])[pool_id]
    if amount > unrefunded:
        raise InvalidInput(
            "amount",
            f"refunding {amount} would return {revenue - unrefunded + amount} from pool "
            f"{pool_id}, which was paid {revenue}",
            "refund at most what is left of the pool's amount",
        )
    state = state_at(conn, pool_id, occurred_at)
    split = split_refund(state.deferred, state.seg_credits_left, amount, unrefunded)
    clawed = split.credits
    if amount == unrefunded:  # a full refund: nothing paid for is left, whatever D and Q say
        clawed = get_pool(conn, pool_id).credits_remaining
    position = last_entry_id(conn, pool_id)
    taken = 0
    if clawed > 0:
        taken = take_back(conn, pool_id, clawed, EntryKind.CLAWBACK, reference, occurred_at)
    applied = RefundApplied(
        pool_id=pool_id,
        reference=reference,
        kind="refund",
        amount=amount,
        credits=taken,
        to_deferred=split.to_deferred,
        contra=split.contra,
        deferred_before=state.deferred,
        credits_before=state.seg_credits_left,
    )
    return _record(conn, "refund", applied, occurred_at, position)


def apply_void(
    conn: Connection, pool_id: int, reference: str, occurred_at: datetime
) -> RefundApplied:
    """Cancel a pool's purchase: every remaining credit is taken back and the deferred balance
    left at ``occurred_at`` is reversed to clearing, as a refund of exactly that balance.

    Revenue already recognized for credits consumed before the void is kept: the customer had
    that service. If the platform also returns money for it, that is a refund (contra revenue),
    not part of the void. Recognition recomputes the reversal from the pool's state at the void's
    moment, so consumption that arrives later with an earlier occurred_at shrinks it (the change
    posts in the first open period).
    """
    reference = require_reference(reference)
    occurred_at = require_aware(occurred_at, "occurred_at")
    _lock_pool(conn, pool_id)
    previous = _existing(conn, pool_id, reference)
    if previous is not None:
        if previous.kind != "void":
            raise Conflict(
                f"reference {reference!r} already recorded a {previous.kind} on pool {pool_id}"
            )
        return previous
    state = state_at(conn, pool_id, occurred_at)
    pool = get_pool(conn, pool_id)
    position = last_entry_id(conn, pool_id)
    taken = take_back(conn, pool_id, pool.credits_remaining, EntryKind.VOID, reference, occurred_at)
    applied = RefundApplied(
        pool_id=pool_id,
        reference=reference,
        kind="void",
        amount=state.deferred,
        credits=taken,
        to_deferred=state.deferred,
        contra=0,
        deferred_before=state.deferred,
        credits_before=state.seg_credits_left,
    )
    return _record(conn, "void", applied, occurred_at, position)


def refunded_so_far(conn: Connection, pool_ids: Sequence[int]) -> dict[int, int]:
    """Per pool, the money returned so far: refunds and voids, less failed refunds undone."""
    m = recognition_money.c
    found = dict(
        conn.execute(
            select(m.pool_id, func.sum(m.amount))
            .where(m.pool_id.in_(list(pool_ids)))
            .group_by(m.pool_id)
        ).all()
    )
    return {pool_id: int(found.get(pool_id) or 0) for pool_id in pool_ids}
