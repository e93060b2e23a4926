"""Exceptions: events that could not be applied as the mappings stand, kept to be retried.

An exception keeps the canonical event itself, so once the mapping is fixed the same event is
applied again as it was received; nothing has to be fetched from the platform a second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Connection, Engine, and_, or_, select, update

from connector.events import CanonicalEvent, Purchase
from connector.store.batch import Batch, Sent
from connector.store.bulk import among, in_list, json_list, param
from connector.store.sql import insert_ignoring_duplicates
from connector.sync.tables import sync_exceptions
from connector.timeutil import utcnow
from mappings.model import MappingSet

OPEN = "open"
RESOLVED = "resolved"
ORPHAN = "orphan"
EVENT = TypeAdapter[CanonicalEvent](CanonicalEvent)


@dataclass(frozen=True)
class ExceptionRecord:
    id: int
    connection: str
    source_key: str
    event_kind: str
    reason_code: str
    reason: str
    status: str
    attempts: int
    first_seen: datetime
    last_seen: datetime
    payload: dict[str, Any]
    target: str | None = None  # platform:object of the purchase an adjustment waits for

    def event(self) -> CanonicalEvent:
        return EVENT.validate_python(self.payload)


RECORD_COLUMNS = [sync_exceptions.c[name] for name in ExceptionRecord.__dataclass_fields__]


def target_key(platform: str, object_id: str) -> str:
    """How an exception names the purchase object it waits for (``platform:object``)."""
    return f"{platform}:{object_id}"


def target_of(event: CanonicalEvent) -> str | None:
    """The purchase object a refund, credit note, dispute, void or refund failure targets."""
    target = getattr(event, "target_object", None)
    return target_key(event.source.platform, target) if isinstance(target, str) else None


def record(
    conn: Connection, connection: str, event: CanonicalEvent, code: str, reason: str
) -> None:
    """Keep (or refresh) the exception for this event; it stays open until it applies."""
    now = utcnow()
    key = {"connection": connection, "source_key": str(event.source), "event_kind": event.kind}
    conn.execute(
        insert_ignoring_duplicates(conn, sync_exceptions, list(key)).values(
            **key,
            reason_code=code,
            reason=reason,
            payload=event.model_dump(mode="json"),
            status=OPEN,
            attempts=0,
            first_seen=now,
            last_seen=now,
            target=target_of(event),
        )
    )
    conn.execute(
        update(sync_exceptions)
        .where(*(sync_exceptions.c[k] == v for k, v in key.items()))
        .values(
            reason_code=code,
            reason=reason,
            status=OPEN,
            last_seen=now,
            attempts=sync_exceptions.c.attempts + 1,
            target=target_of(event),
        )
    )


def resolve(conn: Connection, connection: str, events: Iterable[CanonicalEvent]) -> None:
    """Mark the exceptions of events that have now applied as resolved."""
    by_kind: dict[str, list[str]] = {}
    for e in events:
        by_kind.setdefault(e.kind, []).append(str(e.source))
    if not by_kind:
        return
    conn.execute(
        update(sync_exceptions)
        .where(
            sync_exceptions.c.connection == connection,
            sync_exceptions.c.status == OPEN,
            or_(
                *(
                    and_(
                        sync_exceptions.c.event_kind == kind,
                        among(conn, sync_exceptions.c.source_key, keys),
                    )
                    for kind, keys in by_kind.items()
                )
            ),
        )
        .values(status=RESOLVED, last_seen=utcnow())
    )


def find_settling(batch: Batch, connection: str, purchases: Sequence[Purchase]) -> Sent:
    """The ids of the open exceptions that ``purchases`` settle once applied (their own, and the
    orphans waiting for them), as one statement of ``batch``, for ``settle`` to take as
    ``found``: most pages have none, and then settle sends nothing more."""
    dialect = batch.dialect
    sql = _SETTLING.format(
        connection=param(dialect, "connection"),
        keys=in_list(dialect, "source_key", "keys"),
        targets=in_list(dialect, "target", "targets"),
    )
    keys, targets = _keys_and_targets(purchases)
    return batch.execute(
        sql, {"connection": connection, "keys": json_list(keys), "targets": json_list(targets)}
    )


_SETTLING = (
    f"SELECT id FROM sync_exceptions WHERE status = '{OPEN}' AND ("
    f"(reason_code = '{ORPHAN}' AND {{targets}}) OR "
    "(connection = {connection} AND event_kind = 'purchase' AND {keys}))"
)


def _keys_and_targets(purchases: Sequence[Purchase]) -> tuple[list[str], list[str]]:
    keys = sorted({str(p.source) for p in purchases})
    targets = sorted({target_key(p.source.platform, p.source.object_id) for p in purchases})
    return keys, targets


def settle(
    conn: Connection,
    connection: str,
    purchases: Sequence[Purchase],
    found: Sequence[int] | None = None,
) -> list[ExceptionRecord]:
    """After ``purchases`` applied: resolve their own open exceptions and return the orphans
    waiting for them, in the order their events occurred; both are found by one query, since
    most pages have neither and a page then pays one round trip instead of an update and a
    query. ``found``: the ids ``find_settling`` read for these purchases already (none: nothing
    more is read)."""
    if found is not None and not found:
        return []
    keys, targets = _keys_and_targets(purchases)
    rows: list[ExceptionRecord] = []
    c = sync_exceptions.c
    for start in range(0, max(len(keys), len(targets)), 500):
        query = select(*RECORD_COLUMNS).where(
            c.status == OPEN,
            or_(
                and_(c.reason_code == ORPHAN, among(conn, c.target, targets[start : start + 500])),
                and_(
                    c.connection == connection,
                    c.event_kind == "purchase",
                    among(conn, c.source_key, keys[start : start + 500]),
                ),
            ),
        )
        if found is not None:
            query = query.where(among(conn, c.id, found))
        rows.extend(ExceptionRecord(**row) for row in conn.execute(query).mappings())
    resolved = [r.id for r in rows if r.event_kind == "purchase" and r.reason_code != ORPHAN]
    if resolved:
        conn.execute(
            update(sync_exceptions)
            .where(among(conn, c.id, resolved))
            .values(status=RESOLVED, last_seen=utcnow())
        )
    waiting = {r.id: r for r in rows if r.reason_code == ORPHAN}  # an id once, whatever the chunk
    return sorted(waiting.values(), key=lambda r: (r.event().occurred_at, r.first_seen, r.id))


def list_exceptions(
    engine: Engine, status: str | None = OPEN, connection: str | None = None
) -> list[ExceptionRecord]:
    query = select(*RECORD_COLUMNS).order_by(sync_exceptions.c.first_seen, sync_exceptions.c.id)
    if status is not None:
        query = query.where(sync_exceptions.c.status == status)
    if connection is not None:
        query = query.where(sync_exceptions.c.connection == connection)
    with engine.connect() as conn:
        return [ExceptionRecord(**row) for row in conn.execute(query).mappings()]


@dataclass(frozen=True)
class RetryReport:
    tried: int
    resolved: int
    still_open: int


def retry_exceptions(
    engine: Engine, mappings: MappingSet, connection: str | None = None
) -> RetryReport:
    """Apply every open exception again under ``mappings``: purchases first, then the rest in
    the order they occurred, each in a savepoint of its own, so one that still cannot apply
    stays open (with its reason refreshed) and holds up no other."""
    from connector.sync.apply import apply_events  # apply records exceptions: import at use

    waiting = list_exceptions(engine, OPEN, connection)
    waiting.sort(
        key=lambda r: (r.event_kind != "purchase", r.event().occurred_at, r.first_seen, r.id)
    )
    by_connection: dict[str, list[CanonicalEvent]] = {}
    for record_ in waiting:
        by_connection.setdefault(record_.connection, []).append(record_.event())
    for name, events in by_connection.items():
        with engine.begin() as conn:
            apply_events(conn, name, events, mappings)
    still_open = len(list_exceptions(engine, OPEN, connection))
    return RetryReport(
        tried=len(waiting), resolved=len(waiting) - still_open, still_open=still_open
    )
