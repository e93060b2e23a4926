"""Re-dating entries a book refused (its period is closed or locked there) into an open period.

Only on an explicit command, never on its own: finance decides where revenue the book would not
take belongs. The original entry stays as produced; for the one sink that refused it, a re-post
under a derived id (the same id a reconciliation re-post gets, so the two can never both exist)
replaces it, kept with the repairs so that reconcile expects the re-post in its new period and
the original no longer in its old one. A re-post the book refuses too can be re-dated again.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine

from connector.errors import InvalidInput
from connector.journal import JournalEntry
from connector.outbox import store as outbox
from connector.outbox.drain import Backoff, PostFailed, post_with_retry
from connector.ports import EntryBlocked, JournalSink
from connector.recognition.closing import first_open
from connector.recognition.periods import parse_period
from connector.reconcile import records
from connector.reconcile.plan import booking_date, repost_id


@dataclass(frozen=True)
class Redated:
    original_id: str
    entry: JournalEntry  # the re-post, in the new period
    sink_id: str | None  # where the book put it (None: not posted)
    error: str | None  # why not
    blocked: bool = False


def blocked(conn: Connection, sink: str | None = None) -> list[outbox.Waiting]:
    """Every entry a book refused, with its message: outbox entries and repairs alike."""
    found = outbox.waiting(conn, sink)
    for name in [sink] if sink is not None else records.repair_sinks(conn):
        found.extend(
            outbox.Waiting(r.id, name, outbox.Status.BLOCKED, r.period, r.message, r.created_at)
            for r in records.repairs(conn, name)
            if r.status == records.BLOCKED
        )
    return sorted(found, key=lambda w: (w.period, w.sink, w.entry_id))


def _moved(entry: JournalEntry, entry_id: str, period: str, today: date) -> JournalEntry:
    memo = entry.memo.split("; re-dated from ")[0]
    return entry.model_copy(
        update={
            "id": entry_id,
            "period": period,
            "entry_date": booking_date(period, today),
            "memo": f"{memo}; re-dated from {entry.period}",
        }
    )


def redate(
    engine: Engine,
    sink: JournalSink,
    to_period: str,
    today: date,
    *,
    only: Collection[str] = (),
    backoff: Backoff = Backoff(),
) -> list[Redated]:
    """Re-post every entry ``sink`` refused (or those of ``only``) into ``to_period``."""
    to_period = parse_period(to_period)
    with engine.connect() as conn:
        opening = first_open(conn)
        originals = [
            (w.entry_id, outbox.entry(conn, w.entry_id)) for w in outbox.waiting(conn, sink.name)
        ]
        refused = [
            (r.original_entry_id or r.id, r.entry)
            for r in records.repairs(conn, sink.name)
            if r.status == records.BLOCKED
        ]
    if opening is not None and to_period < opening:
        raise InvalidInput(
            "redate_to", f"{to_period} is closed in creditsync", f"use {opening} or later"
        )
    moves: list[tuple[str, JournalEntry, JournalEntry]] = []  # (original id, refused, re-post)
    for original_id, entry in [*originals, *refused]:
        if entry is None or (only and original_id not in only and entry.id not in only):
            continue
        if to_period < entry.period:
            raise InvalidInput(
                "redate_to",
                f"entry {entry.id} belongs to {entry.period}; re-dating moves an entry later, "
                "never earlier",
                f"use {entry.period} or later",
            )
        is_repair = entry.id != original_id
        new_id = entry.id if is_repair else repost_id(sink.name, entry.id)
        moves.append((original_id, entry, _moved(entry, new_id, to_period, today)))
    with engine.begin() as conn:
        for original_id, entry, moved in moves:
            if entry.id == original_id:
                records.record_redate(conn, sink.name, entry, moved)
                note = f"re-dated to {moved.period} as {moved.id}"
                outbox.mark_redated(conn, sink.name, entry.id, note)
            else:
                records.move_unposted(conn, moved)
    return [_post(engine, sink, original_id, moved, backoff) for original_id, _, moved in moves]


def _post(
    engine: Engine, sink: JournalSink, original_id: str, entry: JournalEntry, backoff: Backoff
) -> Redated:
    try:
        sink_id, attempts = post_with_retry(sink, entry, backoff)
    except PostFailed as failure:
        blocked = isinstance(failure.error, EntryBlocked)
        if blocked:
            with engine.begin() as conn:
                records.mark_blocked(conn, sink.name, entry.id, str(failure.error))
        return Redated(original_id, entry, None, str(failure.error), blocked)
    with engine.begin() as conn:
        records.mark_posted(conn, sink.name, entry.id, sink_id, attempts)
    return Redated(original_id, entry, sink_id, None)
