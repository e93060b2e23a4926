"""Sync runs: pull what changed since the cursor, apply it, then expire, recognize and post.

Each page of events is applied together with the cursor that follows it (a big page in slices,
the cursor with the last), so a run that dies mid-way resumes from the last page it finished,
and a slice applied again changes nothing since every write is idempotent; two
runs of one connection never overlap (a lease in the database, safe across processes). A run
whose process died is marked ``abandoned`` by the next run, which takes its lease over at once
(see ``lease``); one event that cannot apply never stops a page (see ``apply``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import perf_counter
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from connector import metrics
from connector.ports import PurchaseSource
from connector.runtime import Runtime
from connector.store.sql import insert_ignoring_duplicates
from connector.sync.apply import ApplyReport, apply_events
from connector.sync.lease import Lease, acquire
from connector.sync.tables import sync_cursors, sync_runs
from connector.timeutil import utcnow
from mappings.model import MappingSet

Progress = Callable[[int], None]
# events applied per transaction: a big page is applied in slices, its cursor saved with the
# last, so that SQLite's write lock is never held long (re-applying a slice changes nothing)
EVENTS_PER_COMMIT = 500


@dataclass(frozen=True)
class RunRecord:
    id: int
    connection: str
    trigger: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    counts: dict[str, int]
    error: str | None
    holder: str | None = None


@dataclass
class RunSummary:
    run_id: int
    connection: str
    status: str = "running"
    report: ApplyReport = field(default_factory=ApplyReport)
    pages: int = 0
    error: str | None = None


def load_cursor(conn: Connection, connection: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = conn.execute(
        select(sync_cursors.c.cursor).where(sync_cursors.c.connection == connection)
    ).scalar()
    return found


def save_cursor(conn: Connection, connection: str, cursor: Mapping[str, Any]) -> None:
    now = utcnow()
    conn.execute(
        insert_ignoring_duplicates(conn, sync_cursors, ["connection"]).values(
            connection=connection, cursor=dict(cursor), updated_at=now
        )
    )
    conn.execute(
        update(sync_cursors)
        .where(sync_cursors.c.connection == connection)
        .values(cursor=dict(cursor), updated_at=now)
    )


def pull(
    engine: Engine,
    connection: str,
    source: PurchaseSource,
    mappings: MappingSet,
    summary: RunSummary,
    progress: Progress | None = None,
    lease: Lease | None = None,
) -> None:
    """Apply every page the source has since the stored cursor, the cursor committed with the
    page's last slice (stopping before a page if ``lease`` passed to another holder meanwhile)."""
    with engine.connect() as conn:
        cursor = load_cursor(conn, connection)
    for page in source.pages(cursor):
        if lease is not None:
            lease.check()
        report = ApplyReport()
        events = list(page.events)
        slices = [
            events[i : i + EVENTS_PER_COMMIT] for i in range(0, len(events), EVENTS_PER_COMMIT)
        ]
        for index, part in enumerate(slices or [[]]):
            with engine.begin() as conn:
                report.add(apply_events(conn, connection, part, mappings))
                if index >= len(slices) - 1:
                    save_cursor(conn, connection, page.cursor)
        summary.report.add(report)
        summary.pages += 1
        for key, count in report.counts.items():
            kind, outcome = key.split(".", 1)
            metrics.SYNC_EVENTS.labels(connection, kind, outcome).inc(count)
        if progress:
            progress(page.fetched or len(page.events))


def _start(engine: Engine, connection: str, trigger: str, holder: str) -> int:
    with engine.begin() as conn:
        run_id: int = conn.execute(
            insert(sync_runs)
            .values(
                connection=connection,
                trigger=trigger,
                status="running",
                started_at=utcnow(),
                counts={},
                holder=holder,
            )
            .returning(sync_runs.c.id)
        ).scalar_one()
    return run_id


def _finish(engine: Engine, summary: RunSummary) -> None:
    counts = dict(summary.report.counts)
    counts["pools_created"] = summary.report.pools_created
    counts["pages"] = summary.pages
    with engine.begin() as conn:
        conn.execute(
            update(sync_runs)
            .where(sync_runs.c.id == summary.run_id)
            .values(status=summary.status, ended_at=utcnow(), counts=counts, error=summary.error)
        )


def run_sync(
    runtime: Runtime,
    connection: str,
    trigger: str = "manual",
    progress: Progress | None = None,
    source: PurchaseSource | None = None,
    after: Callable[[RunSummary], None] | None = None,
    lease: Lease | None = None,
) -> RunSummary:
    """One recorded run of ``connection``: pull and apply, then ``after`` (expire, recognize,
    post) if given. Raises LeaseHeld at once if the connection is already running.

    ``lease``: the connection's lease, taken by the caller (``claim``) so that a request can
    answer "busy" before handing the run to a worker; released when the run ends.
    """
    engine = runtime.engine
    with lease or claim(runtime, connection) as held_lease:
        source = source or runtime.source(connection)
        summary = RunSummary(
            run_id=_start(engine, connection, trigger, held_lease.holder), connection=connection
        )
        started = perf_counter()
        try:
            pull(
                engine,
                connection,
                source,
                runtime.mappings.current,
                summary,
                progress,
                held_lease,
            )
            if after:
                after(summary)
            summary.status = "succeeded"
        except Exception as exc:
            summary.status = "failed"
            summary.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _finish(engine, summary)
            metrics.SYNC_DURATION.labels(connection, summary.status).observe(
                perf_counter() - started
            )
    return summary


def claim(runtime: Runtime, connection: str) -> Lease:
    """Take the connection's run lease now, or raise LeaseHeld (busy) at once."""
    return acquire(runtime.engine, f"sync:{connection}", lease_ttl(runtime))


def lease_ttl(runtime: Runtime) -> timedelta:
    """How long a lease outlives its holder's last heartbeat (settings: lease_ttl_seconds)."""
    return timedelta(seconds=runtime.settings.schedule.lease_ttl_seconds)


def list_runs(engine: Engine, limit: int = 50, connection: str | None = None) -> list[RunRecord]:
    query = select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit)
    if connection is not None:
        query = query.where(sync_runs.c.connection == connection)
    with engine.connect() as conn:
        return [RunRecord(**row) for row in conn.execute(query).mappings()]
