"""``recognize``: turn what the ledger knows up to a cutoff into journal entries.

A run recomputes only the pools touched since the last run: new ledger entries (above the
ledger watermark), new pools, new refunds and voids, and pools whose already known events have
just come into range (``next_event_at`` before the cutoff). Each of those resumes from its saved
state unless something arrived with an earlier occurred_at, in which case it is replayed from
the start. So a run costs what happened since the last one, not all of history.

A run commits in chunks of pools, each with its states, posted totals, journal entries and
outbox rows, so that on SQLite a burn or a webhook never waits long for the write lock while a
large history is recognized. Each chunk stands on its own: the entries of a pool are posted
together with the totals they were computed against, so a run cut short between chunks is
simply run again and posts only what is still missing. The cutoff moves (``control.save``) once
every chunk is in; a lease keeps two runs from interleaving.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from connector.errors import InvalidInput
from connector.journal import JournalEntry
from connector.recognition import compute, control, entries, loader
from connector.recognition.closing import first_open
from connector.recognition.entries import Draft, Mode, PoolDelta
from connector.recognition.gl import GLResolver, cached
from connector.recognition.periods import end_of, entry_date, period_of, start_of, zone
from connector.recognition.state import ZERO, PoolState
from connector.recognition.tables import (
    journal_entries,
    journal_outbox,
    recognition_deltas,
    recognition_money,
    recognition_posted,
    recognition_runs,
    recognition_state,
)
from connector.store.tables import ledger_entries, pools
from connector.sync.lease import held
from connector.timeutil import require_aware, utcnow

RUN_LEASE = "recognition"
# pools recomputed per transaction: about a third of a second of SQLite's write lock each
POOLS_PER_COMMIT = 1_000
STATE_FIELDS = (
    "billed",
    "seg_deferred",
    "seg_credits",
    "seg_used",
    "base_revenue",
    "base_breakage",
    "refunded",
    "contra",
    "closed",
    "credits_left",
)


@dataclass(frozen=True)
class RecognitionRun:
    id: int
    through: datetime
    mode: Mode
    pools_recomputed: int
    pools_replayed: int  # of those, replayed from the start (late facts)
    entries: tuple[JournalEntry, ...]
    first_open: str | None
    seconds: float

    @property
    def late_entries(self) -> int:
        return sum(1 for e in self.entries if e.late)


def parse_mode(mode: str | Mode) -> Mode:
    try:
        return Mode(mode)
    except ValueError:
        raise InvalidInput("mode", f"unknown mode {mode!r}", "use summarized or detailed") from None


def _touched(
    conn: Connection, last: control.Control, marks: control.Watermarks, through: datetime
) -> dict[int, datetime | None]:
    """Pools to recompute, each with the earliest occurred_at among its new facts."""
    found: dict[int, datetime | None] = {}

    def note(pool_id: int, at: datetime | None) -> None:
        if pool_id not in found:
            found[pool_id] = at
        elif at is not None:
            current = found[pool_id]
            found[pool_id] = at if current is None or at < current else current

    le = ledger_entries.c
    for pool_id, at in conn.execute(
        select(le.pool_id, func.min(le.occurred_at))
        .where(le.id > last.ledger_watermark, le.id <= marks.ledger)
        .group_by(le.pool_id)
    ):
        note(pool_id, at)
    m = recognition_money.c
    for pool_id, at in conn.execute(
        select(m.pool_id, func.min(m.occurred_at))
        .where(m.id > last.money_watermark, m.id <= marks.money)
        .group_by(m.pool_id)
    ):
        note(pool_id, at)
    for pool_id, at in conn.execute(
        select(pools.c.id, pools.c.effective_at).where(
            pools.c.id > last.pool_watermark, pools.c.id <= marks.pools, pools.c.revenue_amount > 0
        )
    ):
        note(pool_id, at)
    for (pool_id,) in conn.execute(
        select(recognition_state.c.pool_id).where(recognition_state.c.next_event_at < through)
    ):
        note(pool_id, None)
    return found


def _saved(
    conn: Connection, ids: Sequence[int], infos: dict[int, loader.PoolInfo]
) -> dict[int, compute.Saved]:
    out = {}
    for row in conn.execute(
        select(recognition_state).where(recognition_state.c.pool_id.in_(list(ids)))
    ).mappings():
        info = infos.get(row["pool_id"])
        if info is None:
            continue
        state = PoolState.restore(info.terms, {name: row[name] for name in STATE_FIELDS})
        out[row["pool_id"]] = compute.Saved(state=state, cutoff=row["cutoff"])
    return out


def _state_row(pool_id: int, outcome: compute.Outcome, through: datetime) -> dict[str, Any]:
    return {
        "pool_id": pool_id,
        "cutoff": through,
        "next_event_at": outcome.next_event_at,
        **outcome.state.snapshot(),
    }


class _Work:
    """What one run accumulates across chunks of pools."""

    def __init__(self) -> None:
        self.deltas: list[PoolDelta] = []
        self.cohorts: dict[int, str] = {}
        self.recomputed = 0
        self.replayed = 0


def _process_chunk(
    conn: Connection,
    chunk: Sequence[int],
    new_since: dict[int, datetime | None],
    marks: control.Watermarks,
    through: datetime,
    tz_name: str,
    opening: str | None,
    gl: GLResolver,
    work: _Work,
) -> None:
    tz = zone(tz_name)
    infos = loader.pool_infos(conn, chunk)
    ids = sorted(infos)
    saved = _saved(conn, ids, infos)
    resumable = {}
    for pool_id in ids:
        found = saved.get(pool_id)
        since = new_since.get(pool_id)
        if found is not None and (since is None or since >= found.cutoff):
            resumable[pool_id] = found
    full_ids = [p for p in ids if p not in resumable]
    resume_ids = sorted(resumable)
    ledger = loader.ledger_rows(conn, full_ids, max_id=marks.ledger)
    money = loader.money_rows(conn, full_ids, max_id=marks.money)
    if resume_ids:  # each from its own cutoff: a pool idle for months costs no more than others
        ledger.update(loader.ledger_rows(conn, resume_ids, max_id=marks.ledger, since_cutoff=True))
        money.update(loader.money_rows(conn, resume_ids, max_id=marks.money, since_cutoff=True))
    posted = loader.posted(conn, ids)
    states = []
    changed: list[int] = []
    posted_rows: list[dict[str, Any]] = []
    for pool_id in ids:
        info = infos[pool_id]
        outcome = compute.compute(
            info.terms,
            info.effective_at,
            ledger.get(pool_id, ()),
            money.get(pool_id, ()),
            posted.get(pool_id, {}),
            through,
            tz,
            opening,
            resumable.get(pool_id),
        )
        states.append(_state_row(pool_id, outcome, through))
        work.recomputed += 1
        work.replayed += pool_id not in resumable
        if not outcome.deltas:
            continue
        totals = dict(posted.get(pool_id, {}))
        for d in outcome.deltas:
            totals[(d.period, d.late)] = totals.get((d.period, d.late), ZERO) + d.figures
        changed.append(pool_id)
        posted_rows.extend(
            {"pool_id": pool_id, "period": period, "late": late, **figures._asdict()}
            for (period, late), figures in totals.items()
        )
        accounts = gl(info.mapping_version, info.currency, info.entity)
        cohort = period_of(info.effective_at, tz)
        work.cohorts[pool_id] = cohort
        for d in outcome.deltas:
            work.deltas.append(
                PoolDelta(
                    pool_id=pool_id,
                    period=d.period,
                    late=d.late,
                    figures=d.figures,
                    currency=info.currency,
                    entity=info.entity,
                    accounts=accounts,
                    source_key=info.source_key,
                    cohort=cohort,
                )
            )
    if ids:
        conn.execute(delete(recognition_state).where(recognition_state.c.pool_id.in_(ids)))
        loader.insert_many(conn, recognition_state, states)
    if changed:
        conn.execute(delete(recognition_posted).where(recognition_posted.c.pool_id.in_(changed)))
        loader.insert_many(conn, recognition_posted, posted_rows)


def _next_seq(conn: Connection, keys: Iterable[str]) -> dict[str, int]:
    keys = sorted(set(keys))
    top: dict[str, int] = {}
    for part in loader.chunks(keys):
        for key, seq in conn.execute(
            select(journal_entries.c.base_key, func.max(journal_entries.c.seq))
            .where(journal_entries.c.base_key.in_(list(part)))
            .group_by(journal_entries.c.base_key)
        ):
            top[key] = int(seq)
    return {key: top.get(key, 0) + 1 for key in keys}


def _write(
    conn: Connection,
    run_id: int,
    drafts: list[Draft],
    dates: dict[str, date],
    cohorts: dict[int, str],
    sinks: Sequence[str],
    now: datetime,
) -> list[JournalEntry]:
    seqs = _next_seq(conn, (d.base_key for d in drafts if not d.is_empty()))
    made: list[JournalEntry] = []
    entry_rows: list[dict[str, Any]] = []
    delta_rows: list[dict[str, Any]] = []
    for draft in drafts:
        entry_id = None
        if not draft.is_empty():
            entry = draft.entry(seqs[draft.base_key], dates[draft.period])
            entry_id = entry.id
            made.append(entry)
            entry_rows.append(
                {
                    "id": entry.id,
                    "base_key": draft.base_key,
                    "seq": seqs[draft.base_key],
                    "run_id": run_id,
                    "kind": draft.kind.value,
                    "period": draft.period,
                    "entry_date": entry.entry_date,
                    "currency": draft.currency,
                    "entity": draft.entity,
                    "late": draft.late,
                    "billed": draft.figures.get("billed", 0),
                    "revenue": draft.figures.get("revenue", 0),
                    "breakage": draft.figures.get("breakage", 0),
                    "refunded": draft.figures.get("refunded", 0),
                    "contra": draft.figures.get("contra", 0),
                    "payload": entry.model_dump(mode="json"),
                    "created_at": now,
                }
            )
        for pool_id, figure, amount in draft.members:
            delta_rows.append(
                {
                    "run_id": run_id,
                    "entry_id": entry_id,
                    "pool_id": pool_id,
                    "period": draft.period,
                    "late": draft.late,
                    "figure": figure,
                    "amount": amount,
                    "currency": draft.currency,
                    "cohort": cohorts[pool_id],
                }
            )
    loader.insert_many(conn, journal_entries, entry_rows)
    loader.insert_many(conn, recognition_deltas, delta_rows)
    outbox_rows = [
        {
            "entry_id": entry.id,
            "sink": sink,
            "status": "pending",
            "attempts": 0,
            "enqueued_at": now,
            "updated_at": now,
        }
        for sink in sinks
        for entry in made
    ]
    loader.insert_many(conn, journal_outbox, outbox_rows)
    return made


def recognize(
    engine: Engine,
    through: datetime,
    gl: GLResolver,
    mode: str | Mode = Mode.SUMMARIZED,
    *,
    timezone: str = "UTC",
    sinks: Sequence[str] = (),
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RecognitionRun:
    """Recognize everything that occurred before ``through`` and post it as journal entries.

    ``gl`` maps (mapping_version, currency, entity) to GL accounts; ``sinks`` names outboxes to
    enqueue the new entries in (``drain`` also enqueues whatever a sink has not seen).
    ``progress(pools done, pools to recompute)`` is called after each chunk of pools.
    """
    started = time.perf_counter()
    through = require_aware(through, "through")
    chosen = parse_mode(mode)
    tz = zone(timezone)
    resolve = cached(gl)
    with held(engine, RUN_LEASE):
        settled = control.settle(engine)
        with engine.begin() as conn:
            control.serialize(conn)
            last = control.load(conn, timezone)
            if last.last_through is not None and through < last.last_through:
                raise InvalidInput(
                    "through",
                    f"{through.isoformat()} is before the last run's cutoff "
                    f"{last.last_through.isoformat()}",
                    "recognize through that cutoff or later",
                )
            opening = first_open(conn)
            if opening is not None and through <= start_of(opening, tz):
                raise InvalidInput(
                    "through",
                    f"everything before {start_of(opening, tz).isoformat()} is in closed periods",
                    f"recognize through a moment in {opening} or later",
                )
            marks = control.at_least(control.watermarks(conn, settled), last)
            # the run's moment: what was recorded before it is in the run, what after is not
            # (rebuild replays the run at this moment, since its chunks commit over a while)
            now = now or utcnow()
            run_id = conn.execute(
                recognition_runs.insert()
                .values(
                    through=through,
                    mode=chosen.value,
                    started_at=now,
                    finished_at=now,
                    pools_recomputed=0,
                    entries_created=0,
                    ledger_watermark=marks.ledger,
                )
                .returning(recognition_runs.c.id)
            ).scalar_one()
            touched = _touched(conn, last, marks, through)
        made: list[JournalEntry] = []
        recomputed = replayed = done = 0
        for chunk in loader.chunks(sorted(touched), POOLS_PER_COMMIT):
            with engine.begin() as conn:  # burns and webhooks get the write lock in between
                control.serialize(conn)
                work = _Work()
                _process_chunk(
                    conn, chunk, touched, marks, through, timezone, opening, resolve, work
                )
                drafts = entries.drafts(work.deltas, chosen)
                dates = {
                    d.period: entry_date(min(end_of(d.period, tz), through), tz) for d in drafts
                }
                made.extend(_write(conn, run_id, drafts, dates, work.cohorts, sinks, now))
            recomputed += work.recomputed
            replayed += work.replayed
            done += len(chunk)
            if progress:
                progress(done, len(touched))
        with engine.begin() as conn:
            control.serialize(conn)
            control.save(conn, through, marks)
            conn.execute(
                recognition_runs.update()
                .where(recognition_runs.c.id == run_id)
                .values(
                    finished_at=utcnow(), pools_recomputed=recomputed, entries_created=len(made)
                )
            )
    return RecognitionRun(
        id=run_id,
        through=through,
        mode=chosen,
        pools_recomputed=recomputed,
        pools_replayed=replayed,
        entries=tuple(made),
        first_open=opening,
        seconds=time.perf_counter() - started,
    )
