"""One pool's recognition for one run (pure): replay its stream to each open period's cutoff,
compare with what is posted, and hand back the deltas and the state to resume from next time.

Resuming: a pool's state is saved at the run's cutoff C. If nothing arrived since with an
occurred_at before C, the next run replays only the events at or after C from that state, and
periods ending before C need nothing (their targets are unchanged and were posted). Anything
that did arrive with an earlier occurred_at makes the caller replay the pool from the start.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from connector.recognition import deltas as delta_plan
from connector.recognition.deltas import Delta
from connector.recognition.periods import (
    end_of,
    last_period_before,
    period_of,
    periods_from,
    start_of,
)
from connector.recognition.state import Figures, PoolState
from connector.recognition.stream import LedgerRow, MoneyRow, apply, build
from connector.recognition.terms import PoolTerms


@dataclass(frozen=True, slots=True)
class Saved:
    state: PoolState
    cutoff: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    deltas: list[Delta]
    state: PoolState  # at the run's cutoff
    next_event_at: datetime | None  # earliest known event at or after the cutoff
    targets: dict[str, Figures]


def compute(
    terms: PoolTerms,
    billed_at: datetime,
    ledger: Iterable[LedgerRow],
    money: Iterable[MoneyRow],
    posted: Mapping[tuple[str, bool], Figures],
    through: datetime,
    tz: tzinfo,
    first_open: str | None,
    saved: Saved | None = None,
) -> Outcome:
    """``saved`` given: ``ledger`` and ``money`` hold (at least) every event at or after its
    cutoff; None: they hold the pool's whole history."""
    if saved is not None:
        since = saved.cutoff
        state = saved.state.copy()
        events = build(
            (r for r in ledger if r.occurred_at >= since),
            (m for m in money if m.occurred_at >= since),
            billed_at if billed_at >= since else None,
        )
        start = since
    else:
        state = PoolState.start(terms)
        events = build(ledger, money, billed_at)
        start = min(billed_at, events[0].at) if events else billed_at
    first = period_of(start, tz)
    if first_open is not None and first < first_open:
        first = first_open
    open_periods = periods_from(first, last_period_before(through, tz))

    position = 0

    def advance(moment: datetime) -> None:
        nonlocal position
        while position < len(events) and events[position].at < moment:
            apply(state, events[position])
            position += 1

    late_target = None
    if first_open is not None and open_periods and open_periods[0] == first_open:
        late_moment = start_of(first_open, tz)
        if saved is None or late_moment >= saved.cutoff:
            advance(late_moment)
            late_target = state.figures()
    targets = {}
    for period in open_periods:
        advance(min(end_of(period, tz), through))
        targets[period] = state.figures()
    advance(through)
    planned = delta_plan.plan(open_periods, targets, posted, first_open, late_target)
    next_at = events[position].at if position < len(events) else None
    return Outcome(deltas=planned, state=state, next_event_at=next_at, targets=targets)
