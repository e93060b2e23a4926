"""Outbox rows: enqueue entries for a sink, read what is pending, record the outcome."""

from __future__ import annotations

from collections.abc import Sequence
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
    result = conn.execute(
        update(journal_outbox)
        .where(journal_outbox.c.sink == sink, journal_outbox.c.status == Status.FAILED.value)
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


def mark_failed(conn: Connection, sink: str, entry_id: str, error: str, attempts: int) -> None:
    conn.execute(
        update(journal_outbox)
        .where(journal_outbox.c.entry_id == entry_id, journal_outbox.c.sink == sink)
        .values(
            status=Status.FAILED.value,
            attempts=journal_outbox.c.attempts + attempts,
            last_error=error[:MAX_ERROR],
            updated_at=utcnow(),
        )
    )


def statuses(conn: Connection, sinks: Sequence[str] | None = None) -> dict[tuple[str, str], int]:
    """(sink, status) -> number of entries."""
    query = select(journal_outbox.c.sink, journal_outbox.c.status, func.count()).group_by(
        journal_outbox.c.sink, journal_outbox.c.status
    )
    if sinks:
        query = query.where(journal_outbox.c.sink.in_(list(sinks)))
    return {(sink, status): int(n) for sink, status, n in conn.execute(query)}
