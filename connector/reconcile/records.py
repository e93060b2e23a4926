"""Creditsync's side of a reconciliation, read from the store: the entries produced for a
period, the repairs already made for a sink, and writing new repairs and their outcome."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from connector.journal import JournalEntry
from connector.outbox import store as outbox
from connector.recognition.loader import chunks
from connector.recognition.tables import journal_entries, journal_outbox
from connector.reconcile.plan import Action, RepairAction
from connector.reconcile.tables import reconcile_repairs
from connector.store.sql import insert_ignoring_duplicates
from connector.timeutil import utcnow

PENDING = "pending"
POSTED = "posted"
BLOCKED = "blocked"  # the book refused it (closed period): re-date it
REDATED = "redated"  # the reason of a re-post made by ``creditsync post --redate-to``


@dataclass(frozen=True)
class Repair:
    """A reversal or re-post made for one sink."""

    id: str
    action: Action
    reason: str
    original_entry_id: str | None
    original_sink_id: str | None
    reconciled_period: str
    entry: JournalEntry
    status: str
    created_at: datetime
    message: str = ""  # the book's, when it refused the entry

    @property
    def period(self) -> str:
        return self.entry.period


def produced(conn: Connection, period: str) -> list[JournalEntry]:
    """Every journal entry of ``period``, in the order the outbox posts them."""
    rows = conn.execute(
        select(journal_entries.c.payload)
        .where(journal_entries.c.period == period)
        .order_by(journal_entries.c.run_id, journal_entries.c.id)
    ).scalars()
    return [JournalEntry.model_validate(payload) for payload in rows]


def entries_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, JournalEntry]:
    wanted = sorted(set(ids))
    out: dict[str, JournalEntry] = {}
    for part in chunks(wanted):
        for payload in conn.execute(
            select(journal_entries.c.payload).where(journal_entries.c.id.in_(list(part)))
        ).scalars():
            entry = JournalEntry.model_validate(payload)
            out[entry.id] = entry
    return out


def first_period(conn: Connection) -> str | None:
    found: str | None = conn.execute(
        select(journal_entries.c.period).order_by(journal_entries.c.period).limit(1)
    ).scalar()
    return found


def repairs(conn: Connection, sink: str) -> list[Repair]:
    rows = conn.execute(
        select(reconcile_repairs)
        .where(reconcile_repairs.c.sink == sink)
        .order_by(reconcile_repairs.c.created_at, reconcile_repairs.c.id)
    ).mappings()
    return [
        Repair(
            id=row["id"],
            action=Action(row["action"]),
            reason=row["reason"],
            original_entry_id=row["original_entry_id"],
            original_sink_id=row["original_sink_id"],
            reconciled_period=row["reconciled_period"],
            entry=JournalEntry.model_validate(row["payload"]),
            status=row["status"],
            created_at=row["created_at"],
            message=row["last_error"] or "",
        )
        for row in rows
    ]


def repair_sinks(conn: Connection) -> list[str]:
    return list(
        conn.execute(select(reconcile_repairs.c.sink).distinct().order_by(reconcile_repairs.c.sink))
        .scalars()
        .all()
    )


def outbox_status(conn: Connection, sink: str, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    out: dict[str, str] = {}
    o = journal_outbox.c
    for part in chunks(wanted):
        for entry_id, status in conn.execute(
            select(o.entry_id, o.status).where(o.sink == sink, o.entry_id.in_(list(part)))
        ):
            out[entry_id] = status
    return out


def record(conn: Connection, action: RepairAction, now: datetime | None = None) -> None:
    """Keep a reversal or re-post before it is sent (once: its id is deterministic)."""
    assert action.entry is not None and action.action in (Action.REVERSE, Action.REPOST)
    difference = action.difference
    conn.execute(
        insert_ignoring_duplicates(conn, reconcile_repairs, ["id"]).values(
            id=action.entry.id,
            sink=action.sink,
            action=action.action.value,
            reason=difference.kind.value,
            reconciled_period=difference.period,
            original_entry_id=action.original_entry_id,
            original_sink_id=action.original_sink_id,
            period=action.entry.period,
            currency=action.entry.currency,
            payload=action.entry.model_dump(mode="json"),
            status=PENDING,
            created_at=now or utcnow(),
        )
    )


def record_redate(
    conn: Connection,
    sink: str,
    original: JournalEntry,
    entry: JournalEntry,
    now: datetime | None = None,
) -> None:
    """Keep the re-post of a blocked entry before it is sent; it replaces the original for
    this sink from now on (reconcile expects it, and no longer the original)."""
    conn.execute(
        insert_ignoring_duplicates(conn, reconcile_repairs, ["id"]).values(
            id=entry.id,
            sink=sink,
            action=Action.REPOST.value,
            reason=REDATED,
            reconciled_period=original.period,
            original_entry_id=original.id,
            original_sink_id=None,
            period=entry.period,
            currency=entry.currency,
            payload=entry.model_dump(mode="json"),
            status=PENDING,
            created_at=now or utcnow(),
        )
    )


def move_unposted(conn: Connection, entry: JournalEntry) -> None:
    """Give a repair the book never took (blocked) a new period and date."""
    conn.execute(
        update(reconcile_repairs)
        .where(reconcile_repairs.c.id == entry.id, reconcile_repairs.c.status != POSTED)
        .values(period=entry.period, payload=entry.model_dump(mode="json"), status=PENDING)
    )


def mark_blocked(conn: Connection, sink: str, entry_id: str, message: str) -> None:
    """The book refused an entry until a person acts: a repair's row or the outbox row says so."""
    if is_repair(conn, entry_id):
        conn.execute(
            update(reconcile_repairs)
            .where(reconcile_repairs.c.id == entry_id)
            .values(status=BLOCKED, last_error=message[: outbox.MAX_ERROR])
        )
        return
    outbox.mark_failed(conn, sink, entry_id, message, 0, outbox.Status.BLOCKED)


def is_repair(conn: Connection, entry_id: str) -> bool:
    found = conn.execute(
        select(reconcile_repairs.c.id).where(reconcile_repairs.c.id == entry_id)
    ).first()
    return found is not None


def mark_posted(
    conn: Connection, sink: str, entry_id: str, sink_entry_id: str, attempts: int
) -> None:
    """Record where the sink put an entry: a repair's row, or the journal entry's outbox row."""
    now = utcnow()
    if is_repair(conn, entry_id):
        conn.execute(
            update(reconcile_repairs)
            .where(reconcile_repairs.c.id == entry_id)
            .values(status=POSTED, sink_entry_id=sink_entry_id, posted_at=now, last_error=None)
        )
        return
    conn.execute(
        insert_ignoring_duplicates(conn, journal_outbox, ["entry_id", "sink"]).values(
            entry_id=entry_id,
            sink=sink,
            status=outbox.Status.PENDING.value,
            attempts=0,
            enqueued_at=now,
            updated_at=now,
        )
    )
    outbox.mark_posted(conn, sink, entry_id, sink_entry_id, attempts)
