"""A pool's history as one ordered stream of money events, built from the ledger's entries and
the recognition's own money events (refunds, voids), and replayed onto a ``PoolState``.

Order: by occurred_at; at the same instant billing comes first, then everything else in the
order creditsync recorded it, the ledger's own order: ledger entries by id, and each money event
right after the last entry its pool had when it was recorded (``ledger_seq``). So a burn
recorded before a refund stamped with the same second is consumption the refund sees, and one
recorded after it is not, exactly as the ledger applied them.

How each ledger entry counts:
- grant: ignored (billing comes from the pool row, at its effective_at);
- burn: consumption (a positive burn entry gives consumption back);
- expire: expiry, the deferred left becomes breakage;
- clawback / void with a matching money event: stands in for that event (the money event carries
  the credits; a failed refund's ``reversal`` gives them back); without one (taken back outside
  ``recognition.refunds``): a clawback forfeits its credits (their share of deferred becomes
  breakage), a void cancels the pool as ``apply_void`` does;
- adjust, and a clawback given back without a money event: negative forfeits credits, positive
  adds credits with no money.
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
    UNDO_REFUND = 7


RANK_BILL = 0
RANK_RECORDED = 1
AFTER_ENTRY = 1  # a money event sorts after the ledger entry it was recorded behind


@dataclass(frozen=True, slots=True)
class PoolEvent:
    at: datetime
    rank: int
    position: int  # the ledger entry id it follows (a ledger entry: its own id)
    after: int  # 0 for the ledger entry itself, AFTER_ENTRY for a money event behind it
    seq: int
    step: Step
    credits: int = 0
    amount: int = 0
    contra: int = 0  # a failed refund: the contra revenue restored (``amount`` to deferred)

    @property
    def key(self) -> tuple[datetime, int, int, int, int]:
        return (self.at, self.rank, self.position, self.after, self.seq)


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
    kind: str  # "refund" | "void" | "reversal"
    amount: int
    credits: int
    reference: str
    occurred_at: datetime
    ledger_seq: int = 0
    to_deferred: int = 0  # as recorded (a reversal restores exactly these)
    contra: int = 0


MONEY_LEDGER_KIND = {
    "refund": EntryKind.CLAWBACK.value,
    "void": EntryKind.VOID.value,
    "reversal": EntryKind.CLAWBACK.value,
}
MONEY_STEP = {"refund": Step.REFUND, "void": Step.VOID, "reversal": Step.UNDO_REFUND}


def billing(at: datetime) -> PoolEvent:
    return PoolEvent(at=at, rank=RANK_BILL, position=0, after=0, seq=0, step=Step.BILL)


def from_money(row: MoneyRow) -> PoolEvent:
    undo = row.kind == "reversal"
    return PoolEvent(
        at=row.occurred_at,
        rank=RANK_RECORDED,
        position=row.ledger_seq,
        after=AFTER_ENTRY,
        seq=row.id,
        step=MONEY_STEP[row.kind],
        credits=row.credits,
        amount=-row.to_deferred if undo else row.amount,
        contra=-row.contra if undo else 0,
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
    elif kind in (EntryKind.CLAWBACK.value, EntryKind.ADJUST.value):
        step, credits = (Step.FORFEIT, taken) if taken >= 0 else (Step.ADD, -taken)
    else:
        return None
    return PoolEvent(
        at=row.occurred_at,
        rank=RANK_RECORDED,
        position=row.id,
        after=0,
        seq=row.id,
        step=step,
        credits=credits,
    )


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
    elif step is Step.UNDO_REFUND:
        state.undo_refund(event.amount, event.contra, event.credits)
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
