"""Reconciling a period against each sink, planning the repair, and carrying it out.

Reading never changes anything; ``repair`` only posts (through the sink's idempotent post) and
records what it posted. After a repair, reconciling again reports none of the repaired items.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine

from connector.journal import JournalEntry
from connector.outbox.drain import Backoff, PostFailed, post_with_retry
from connector.ports import EntryBlocked, JournalSink
from connector.recognition.closing import first_open
from connector.recognition.gl import GLResolver
from connector.recognition.periods import parse_period
from connector.reconcile import records
from connector.reconcile.compare import compare
from connector.reconcile.model import Difference, DifferenceKind
from connector.reconcile.plan import Action, RepairAction, plan
from connector.reconcile.readback import ReadBack
from connector.reconcile.tieout import TieOut, billings_tie_out, deferred_tie_out


@dataclass(frozen=True)
class SinkResult:
    sink: str
    differences: list[Difference]
    tie_out: list[TieOut]


@dataclass(frozen=True)
class Reconciliation:
    period: str
    sinks: list[SinkResult]
    billings: list[TieOut]

    @property
    def differences(self) -> list[Difference]:
        return [d for result in self.sinks for d in result.differences]

    @property
    def tie_out(self) -> list[TieOut]:
        return [row for result in self.sinks for row in result.tie_out] + self.billings

    @property
    def clean(self) -> bool:
        return not self.differences and all(row.ties for row in self.tie_out)


def _differences(engine: Engine, readback: ReadBack, period: str) -> list[Difference]:
    postings = readback.period(period)
    sink = readback.name
    with engine.connect() as conn:
        ours = records.produced(conn, period)
        made = records.repairs(conn, sink)
        known = records.entries_by_id(conn, (p.entry_id for p in postings if p.entry_id))
    replaced = {r.original_entry_id: r.id for r in made if r.action is Action.REPOST}
    expected: dict[str, JournalEntry] = {e.id: e for e in ours if e.id not in replaced}
    for repair in made:
        known[repair.id] = repair.entry
        if repair.period == period and repair.id not in replaced:
            expected[repair.id] = repair.entry
    here = {(p.entry_id or "", p.sink_id) for p in postings}
    reversed_postings = {
        (r.original_entry_id or "", r.original_sink_id or "")
        for r in made
        if r.action is Action.REVERSE
        and r.reconciled_period == period
        and (r.original_entry_id or "", r.original_sink_id or "") in here
        and readback.holds(r.period, r.id)  # only a reversal the sink really holds counts
    }
    found = compare(
        sink,
        period,
        postings,
        expected,
        known,
        reversed_postings,
        {k: v for k, v in replaced.items() if k is not None},
    )
    missing = [d.entry_id for d in found if d.kind is DifferenceKind.MISSING and d.entry_id]
    if not missing:
        return found
    with engine.connect() as conn:
        notes = {
            entry_id: f"outbox: {status}"
            for entry_id, status in records.outbox_status(conn, sink, missing).items()
        }
    notes.update({r.id: f"repair: {r.status}" for r in made})
    return [
        _noted(d, notes.get(d.entry_id or "", "outbox: not queued for this sink"))
        if d.kind is DifferenceKind.MISSING
        else d
        for d in found
    ]


def _noted(difference: Difference, note: str) -> Difference:
    """What creditsync believes about a missing entry (posted? still queued? never queued?)."""
    return dataclasses.replace(difference, detail=f"{difference.detail} ({note})")


def reconcile(
    engine: Engine,
    sinks: Sequence[JournalSink],
    period: str,
    gl: GLResolver,
    timezone: str = "UTC",
) -> Reconciliation:
    """Compare every sink's read-back of ``period`` with creditsync's entries, and tie out."""
    period = parse_period(period)
    results = []
    with engine.connect() as conn:
        first = records.first_period(conn)
        billings = billings_tie_out(conn, period, timezone)
    for sink in sinks:
        readback = ReadBack(sink)
        differences = _differences(engine, readback, period)
        with engine.connect() as conn:
            tie = deferred_tie_out(conn, readback, period, gl, timezone, first)
        results.append(SinkResult(sink.name, differences, tie))
    return Reconciliation(period, results, billings)


def plan_repairs(
    engine: Engine,
    reconciliation: Reconciliation,
    sinks: Sequence[JournalSink],
    today: date,
    *,
    keep_unknown: bool = False,
) -> list[RepairAction]:
    """The repair plan for every difference found (nothing is posted here)."""
    with engine.connect() as conn:
        opening = first_open(conn)
    by_name = {sink.name: ReadBack(sink) for sink in sinks}
    actions: list[RepairAction] = []
    for result in reconciliation.sinks:
        readback = by_name[result.sink]
        held = {
            d.entry_id
            for d in result.differences
            if d.kind is DifferenceKind.WRONG_PERIOD
            and d.expected is not None
            and d.entry_id is not None
            and readback.holds(d.expected.period, d.entry_id)
        }
        actions.extend(
            plan(
                result.differences,
                first_open=opening,
                today=today,
                held_in_own_period={h for h in held if h is not None},
                keep_unknown=keep_unknown,
            )
        )
    return actions


@dataclass
class RepairOutcome:
    posted: list[tuple[RepairAction, str]] = field(default_factory=list)  # with the sink's id
    failed: list[tuple[RepairAction, str]] = field(default_factory=list)  # with the error
    left: list[RepairAction] = field(default_factory=list)


Progress = Callable[[int, int], None]


def repair(
    engine: Engine,
    sinks: Sequence[JournalSink],
    actions: Sequence[RepairAction],
    *,
    backoff: Backoff = Backoff(),
    progress: Progress | None = None,
) -> RepairOutcome:
    """Carry out ``actions``: each entry is recorded, posted, then marked posted."""
    by_name = {sink.name: sink for sink in sinks}
    outcome = RepairOutcome()
    for done, action in enumerate(actions, 1):
        if action.action is Action.LEAVE or action.entry is None:
            outcome.left.append(action)
        else:
            sink = by_name[action.sink]
            if action.action in (Action.REVERSE, Action.REPOST):
                with engine.begin() as conn:
                    records.record(conn, action)
            try:
                sink_id, attempts = post_with_retry(sink, action.entry, backoff)
            except PostFailed as failure:
                if isinstance(failure.error, EntryBlocked):
                    with engine.begin() as conn:
                        records.mark_blocked(conn, sink.name, action.entry.id, str(failure.error))
                outcome.failed.append((action, str(failure)))
            else:
                with engine.begin() as conn:
                    records.mark_posted(conn, sink.name, action.entry.id, sink_id, attempts)
                outcome.posted.append((action, sink_id))
        if progress:
            progress(done, len(actions))
    return outcome
