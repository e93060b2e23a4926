"""A refund that failed after the fact (``RefundFailed``): its clawback is undone.

The money never left, so each pool the refund touched gets back the credits it lost
(``pools.give_back``) and, where it carries revenue, what the refund reversed: the deferred
revenue and the contra revenue, as recognition replayed that refund. The reversal is recorded as
a ``reversal`` money event (signed as a change: amount -F, to_deferred and contra negative) at
the failure's moment; recognition posts the mirror of the refund's entry and starts the next
segment from the deferred and credits that came back.

A refund is undone once, whichever failure says so: a platform may report one failure twice
(Stripe sends ``refund.updated`` and ``refund.failed``), so the reversal and the ledger entries
are keyed by the refund (``undo_reference``), not by the failure event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from connector.events import RefundFailed, SourceKey
from connector.ledger import accounts
from connector.ledger.models import EntryKind
from connector.ledger.pools import give_back, last_entry_id, pools_for_object
from connector.recognition.refund import RefundSplit
from connector.recognition.refunds import history, require_reference
from connector.recognition.stream import Step, apply
from connector.recognition.tables import recognition_money
from connector.store.tables import ledger_entries
from connector.timeutil import utcnow


@dataclass(frozen=True)
class RefundUndone:
    pool_id: int
    credits: int  # given back by the ledger
    to_deferred: int  # back to deferred revenue
    contra: int  # back to revenue


def undo_reference(refund: SourceKey) -> str:
    """The reference of what undoes ``refund``, in the ledger and in the money events."""
    return require_reference(f"failed:{refund}")


def apply_refund_failed(conn: Connection, event: RefundFailed) -> list[RefundUndone] | None:
    """Undo the refund ``event.refund`` on the pools of ``event.target_object``.

    None when that refund was never applied there (the caller keeps the failure as an exception,
    to apply once the refund does). Applying the same failure again changes nothing.
    """
    refund_ref = str(event.refund)
    reference = undo_reference(event.refund)
    targets = pools_for_object(conn, event.source.platform, event.target_object)
    ids = [p.id for p in targets]
    if not ids:
        return None
    refunds = {
        row.pool_id: row
        for row in conn.execute(
            select(recognition_money).where(
                recognition_money.c.pool_id.in_(ids),
                recognition_money.c.reference == refund_ref,
                recognition_money.c.kind == "refund",
            )
        )
    }
    if not refunds:
        return None
    # A failure is never undone before its refund took effect, whatever its own stamp says.
    at = max(event.occurred_at, *(row.occurred_at for row in refunds.values()))
    clawed = dict(
        conn.execute(
            select(ledger_entries.c.pool_id, -ledger_entries.c.credits).where(
                ledger_entries.c.pool_id.in_(ids),
                ledger_entries.c.kind == EntryKind.CLAWBACK.value,
                ledger_entries.c.reference == refund_ref,
            )
        ).all()
    )
    for account_id in sorted({p.account_id for p in targets}):
        accounts.lock(conn, account_id)  # burns change what the refund's replay sees
    undone = []
    for pool in targets:
        if pool.id not in refunds and pool.id not in clawed:
            continue
        position = last_entry_id(conn, pool.id)
        given = give_back(conn, pool.id, int(clawed.get(pool.id, 0)), reference, at)
        refund = refunds.get(pool.id)
        split = RefundSplit(credits=given, to_deferred=0, contra=0)
        if refund is not None and not _recorded(conn, pool.id, reference):
            split = _as_replayed(conn, pool.id, refund.id, at)
            conn.execute(
                recognition_money.insert().values(
                    pool_id=pool.id,
                    kind="reversal",
                    reference=reference,
                    amount=-refund.amount,
                    credits=given,
                    to_deferred=-split.to_deferred,
                    contra=-split.contra,
                    occurred_at=at,
                    recorded_at=utcnow(),
                    ledger_seq=position,
                )
            )
        undone.append(RefundUndone(pool.id, given, split.to_deferred, split.contra))
    return undone


def _recorded(conn: Connection, pool_id: int, reference: str) -> bool:
    return (
        conn.execute(
            select(recognition_money.c.id).where(
                recognition_money.c.pool_id == pool_id, recognition_money.c.reference == reference
            )
        ).first()
        is not None
    )


def _as_replayed(conn: Connection, pool_id: int, money_id: int, moment: datetime) -> RefundSplit:
    """What the refund (money event ``money_id``, at or before ``moment``) reversed when
    recognition replays it."""
    state, events = history(conn, pool_id, moment)
    for event in events:
        if event.step is Step.REFUND and event.seq == money_id:
            return state.refund(event.amount, event.credits)
        apply(state, event)
    raise AssertionError(f"refund {money_id} is missing from pool {pool_id}'s history")
