"""Outbox rows: enqueue entries for a sink, read what is pending, record the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, and_, exists, func, literal, select, update

from connector.journal import JournalEntry
from connector.recognition.tables import journal_entries, journal_outbox
from connector.store.sql import insert_ignoring_duplicates
from connector.store.types import UTCDateTime
from connector.timeutil import utcnow

MAX_ERROR = 2_000


class Status(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    FAILED = "failed"
    BLOCKED = "blocked"  # the book refuses it until a person acts (closed period, ...)
    REDATED = "redated"  # replaced by a re-post into an open period (reconcile_repairs)


@dataclass(frozen=True)
class Waiting:
    """An entry that is not in the sink, and why."""

    entry_id: str
    sink: str
    status: Status
    period: str
    message: str
    updated_at: datetime


def enqueue(conn: Connection, sink: str, now: datetime | None = None) -> int:
    """Queue every journal entry the sink has not seen yet; returns how many were queued."""
    now = now or utcnow()
    o = journal_outbox.c
    missing = select(
        journal_entries.c.id,
        literal(sink),
        literal(Status.PENDING.value),
        literal(0),
        literal(now, UTCDateTime()),
        literal(now, UTCDateTime()),
    ).where(~exists().where(and_(o.entry_id == journal_entries.c.id, o.sink == sink)))
    queued = int(conn.execute(select(func.count()).select_from(missing.subquery())).scalar_one())
    if queued:
        conn.execute(  # two drains at once: the second one's rows are already there
            insert_ignoring_duplicates(conn, journal_outbox, ["entry_id", "sink"]).from_select(
                ["entry_id", "sink", "status", "attempts", "enqueued_at", "updated_at"], missing
            )
        )
    return queued


def retry_failed(conn: Connection, sink: str) -> int:
    """Queue failed and blocked entries again (after a fix, or a period reopened in the book)."""
    result = conn.execute(
        update(journal_outbox)
        .where(
            journal_outbox.c.sink == sink,
            journal_outbox.c.status.in_([Status.FAILED.value, Status.BLOCKED.value]),
        )
        .values(status=Status.PENDING.value, updated_at=utcnow())
    )
    return int(result.rowcount or 0)


def count(conn: Connection, sink: str, status: Status) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(journal_outbox)
            .where(journal_outbox.c.sink == sink, journal_outbox.c.status == status.value)
        ).scalar_one()
    )


def pending(conn: Connection, sink: str, limit: int) -> list[JournalEntry]:
    """The next pending entries, oldest run first."""
    rows = conn.execute(
        select(journal_entries.c.payload)
        .join(journal_outbox, journal_outbox.c.entry_id == journal_entries.c.id)
        .where(journal_outbox.c.sink == sink, journal_outbox.c.status == Status.PENDING.value)
        .order_by(journal_entries.c.run_id, journal_entries.c.period, journal_entries.c.id)
        .limit(limit)
    ).scalars()
    return [JournalEntry.model_validate(payload) for payload in rows]


def mark_posted(
    conn: Connection, sink: str, entry_id: str, sink_entry_id: str, attempts: int
) -> None:
    now = utcnow()
    conn.execute(
        update(journal_outbox)
        .where(journal_outbox.c.entry_id == entry_id, journal_outbox.c.sink == sink)
        .values(
            status=Status.POSTED.value,
            sink_entry_id=sink_entry_id,
            attempts=journal_outbox.c.attempts + attempts,
            last_error=None,
            updated_at=now,
            posted_at=now,
        )
    )


def mark_failed(
    conn: Connection,
    sink: str,
    entry_id: str,
    error: str,
    attempts: int,
    status: Status = Status.FAILED,
) -> None:
    """Record an entry the sink does not have: failed after retries, or blocked by the book."""
    conn.execute(
        update(journal_outbox)
        .where(journal_outbox.c.entry_id == entry_id, journal_outbox.c.sink == sink)
        .values(
            status=status.value,
            attempts=journal_outbox.c.attempts + attempts,
            last_error=error[:MAX_ERROR],
            updated_at=utcnow(),
        )
    )


def mark_redated(conn: Connection, sink: str, entry_id: str, note: str) -> None:
    conn.execute(
        update(journal_outbox)
        .where(
            journal_outbox.c.entry_id == entry_id,
            journal_outbox.c.sink == sink,
            journal_outbox.c.status == Status.BLOCKED.value,
        )
        .values(status=Status.REDATED.value, last_error=note[:MAX_ERROR], updated_at=utcnow())
    )


def waiting(
    conn: Connection, sink: str | None = None, statuses: Sequence[Status] = (Status.BLOCKED,)
) -> list[Waiting]:
    """Entries in the given states with the sink's message, oldest period first."""
    o = journal_outbox.c
    query = (
        select(o.entry_id, o.sink, o.status, journal_entries.c.period, o.last_error, o.updated_at)
        .join(journal_entries, journal_entries.c.id == o.entry_id)
        .where(o.status.in_([s.value for s in statuses]))
        .order_by(journal_entries.c.period, o.sink, o.entry_id)
    )
    if sink is not None:
        query = query.where(o.sink == sink)
    return [
        Waiting(
            row.entry_id,
            row.sink,
            Status(row.status),
            row.period,
            row.last_error or "",
            row.updated_at,
        )
        for row in conn.execute(query)
    ]


def entry(conn: Connection, entry_id: str) -> JournalEntry | None:
    payload = conn.execute(
        select(journal_entries.c.payload).where(journal_entries.c.id == entry_id)
    ).scalar()
    return None if payload is None else JournalEntry.model_validate(payload)


def statuses(conn: Connection, sinks: Sequence[str] | None = None) -> dict[tuple[str, str], int]:
    """(sink, status) -> number of entries."""
    query = select(journal_outbox.c.sink, journal_outbox.c.status, func.count()).group_by(
        journal_outbox.c.sink, journal_outbox.c.status
    )
    if sinks:
        query = query.where(journal_outbox.c.sink.in_(list(sinks)))
    return {(sink, status): int(n) for sink, status, n in conn.execute(query)}
