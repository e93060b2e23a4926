"""A pool's history as one ordered stream of money events, built from the ledger's entries and
the recognition's own money events (refunds, voids), and replayed onto a ``PoolState``.

Order: by occurred_at; at the same instant billing comes first, then money events (a refund is
computed from the state *before* its moment), then ledger entries; ties by id.

How each ledger entry counts:
- grant: ignored (billing comes from the pool row, at its effective_at);
- burn: consumption (a positive burn entry gives consumption back);
- expire: expiry, the deferred left becomes breakage;
- clawback / void with a matching money event: stands in for that event (the money event carries
  the credits); without one (taken back outside ``recognition.refunds``): a clawback forfeits its
  credits (their share of deferred becomes breakage), a void cancels the pool as ``apply_void``
  does;
- adjust: negative forfeits credits, positive adds credits with no money.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from connector.ledger.models import EntryKind
from connector.recognition.state import PoolState


class Step(IntEnum):
    BILL = 0
    REFUND = 1
    VOID = 2
    CONSUME = 3
    EXPIRE = 4
    FORFEIT = 5
    ADD = 6


RANK_BILL = 0
RANK_MONEY = 1
RANK_LEDGER = 2


@dataclass(frozen=True, slots=True)
class PoolEvent:
    at: datetime
    rank: int
    seq: int
    step: Step
    credits: int = 0
    amount: int = 0

    @property
    def key(self) -> tuple[datetime, int, int]:
        return (self.at, self.rank, self.seq)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    id: int
    kind: str
    credits: int
    reference: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class MoneyRow:
    id: int
    kind: str  # "refund" | "void"
    amount: int
    credits: int
    reference: str
    occurred_at: datetime


MONEY_LEDGER_KIND = {"refund": EntryKind.CLAWBACK.value, "void": EntryKind.VOID.value}


def billing(at: datetime) -> PoolEvent:
    return PoolEvent(at=at, rank=RANK_BILL, seq=0, step=Step.BILL)


def from_money(row: MoneyRow) -> PoolEvent:
    step = Step.VOID if row.kind == "void" else Step.REFUND
    return PoolEvent(
        at=row.occurred_at,
        rank=RANK_MONEY,
        seq=row.id,
        step=step,
        credits=row.credits,
        amount=row.amount,
    )


def from_ledger(row: LedgerRow, matched: frozenset[tuple[str, str]]) -> PoolEvent | None:
    """The money meaning of one ledger entry, or None when it has none of its own."""
    kind = row.kind
    taken = -row.credits
    if kind == EntryKind.GRANT.value or (kind, row.reference) in matched:
        return None
    if kind == EntryKind.BURN.value:
        step, credits = Step.CONSUME, taken
    elif kind == EntryKind.EXPIRE.value:
        step, credits = Step.EXPIRE, taken
    elif kind == EntryKind.VOID.value:
        step, credits = Step.VOID, taken
    elif kind == EntryKind.CLAWBACK.value or (kind == EntryKind.ADJUST.value and taken >= 0):
        step, credits = Step.FORFEIT, taken
    elif kind == EntryKind.ADJUST.value:
        step, credits = Step.ADD, -taken
    else:
        return None
    return PoolEvent(at=row.occurred_at, rank=RANK_LEDGER, seq=row.id, step=step, credits=credits)


def build(
    ledger: Iterable[LedgerRow], money: Iterable[MoneyRow], billed_at: datetime | None
) -> list[PoolEvent]:
    """The ordered stream; ``billed_at`` None leaves billing out (it is already in a snapshot)."""
    money = list(money)
    matched = frozenset((MONEY_LEDGER_KIND[m.kind], m.reference) for m in money)
    events = [from_money(m) for m in money]
    for row in ledger:
        event = from_ledger(row, matched)
        if event is not None:
            events.append(event)
    if billed_at is not None:
        events.append(billing(billed_at))
    events.sort(key=lambda e: e.key)
    return events


def apply(state: PoolState, event: PoolEvent) -> None:
    step = event.step
    if step is Step.CONSUME:
        state.consume(event.credits)
    elif step is Step.BILL:
        state.bill()
    elif step is Step.REFUND:
        state.refund(event.amount, event.credits)
    elif step is Step.VOID:
        state.void(event.credits)
    elif step is Step.EXPIRE:
        state.expire(event.credits)
    elif step is Step.FORFEIT:
        state.forfeit(event.credits)
    else:
        state.add_credits(event.credits)


def replay(state: PoolState, events: Iterable[PoolEvent]) -> PoolState:
    for event in events:
        apply(state, event)
    return state


def split_at(events: list[PoolEvent], moment: datetime) -> Iterator[list[PoolEvent]]:
    """The events before ``moment`` and those at or after it."""
    cut = next((i for i, e in enumerate(events) if e.at >= moment), len(events))
    yield events[:cut]
    yield events[cut:]
