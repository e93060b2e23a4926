"""Rejected deliveries: authentic webhooks that could not be read as events, kept as evidence.

A signed delivery that is not a valid event (no type, a field of the wrong kind, an id that no
database can store) is answered 400, so the platform shows the failure on its side; it is also
kept here, byte for byte, so that the failure is seen on this side too rather than lost. The same
body delivered again (platforms retry a 400) is one row whose ``deliveries`` count grows, so a
retry storm cannot fill the table. Any platform's receiver rejects the same way, by raising
``WebhookInvalid``; ``require_storable`` adds the checks every platform needs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from connector.ports import WebhookInvalid, WebhookResult
from connector.store.tables import Id, metadata
from connector.store.types import UTCDateTime
from connector.sync.tables import webhook_inbox
from connector.text import storable, text_problem
from connector.timeutil import as_utc


def _length(column: Column[Any]) -> int:
    length = column.type.length if isinstance(column.type, String) else None
    assert length is not None, f"{column} is not a String of bounded length"
    return length


# An event id or type must fit the inbox, and is kept with a rejection only when it would.
EVENT_ID_LENGTH = _length(webhook_inbox.c.event_id)
EVENT_TYPE_LENGTH = _length(webhook_inbox.c.event_type)

rejected_deliveries = Table(
    "rejected_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection", String(100), nullable=False),
    Column("body_sha256", String(64), nullable=False),
    Column("event_id", String(EVENT_ID_LENGTH)),  # when the delivery had a usable one
    Column("event_type", String(EVENT_TYPE_LENGTH)),
    Column("reason", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),  # exactly as delivered
    Column("first_received_at", UTCDateTime(), nullable=False),
    Column("last_received_at", UTCDateTime(), nullable=False),
    Column("deliveries", Integer, nullable=False, server_default="1"),
    UniqueConstraint("connection", "body_sha256"),
    Index("ix_rejected_deliveries_last_received_at", "last_received_at"),
)


@dataclass(frozen=True)
class RejectedDelivery:
    id: int
    connection: str
    event_id: str | None
    event_type: str | None
    reason: str
    body: bytes
    first_received_at: datetime
    last_received_at: datetime
    deliveries: int


def _problem(value: str | None, limit: int) -> str | None:
    """Why an event id or type cannot be stored, or None."""
    if not value:
        return "is empty"
    if len(value) > limit:
        return f"is {len(value)} characters long, more than {limit}"
    return text_problem(value)


def _usable(value: str | None, limit: int) -> str | None:
    """An id or type worth keeping with a rejection, or None."""
    return value if _problem(value, limit) is None else None


def record(
    engine: Engine, connection: str, rejection: WebhookInvalid, body: bytes, received_at: datetime
) -> None:
    """Keep ``body`` with the reason it was rejected (a repeat counts one more delivery)."""
    values = {
        "connection": connection,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "event_id": _usable(rejection.event_id, EVENT_ID_LENGTH),
        "event_type": _usable(rejection.event_type, EVENT_TYPE_LENGTH),
        "reason": storable(rejection.reason),
        "body": body,
        "first_received_at": received_at,
        "last_received_at": received_at,
        "deliveries": 1,
    }
    with engine.begin() as conn:
        dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(rejected_deliveries).values(**values)
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=["connection", "body_sha256"],
                set_={
                    "deliveries": rejected_deliveries.c.deliveries + 1,
                    "last_received_at": insert.excluded.last_received_at,
                },
            )
        )


def _row(row: Any) -> RejectedDelivery:
    return RejectedDelivery(
        id=row.id,
        connection=row.connection,
        event_id=row.event_id,
        event_type=row.event_type,
        reason=row.reason,
        body=bytes(row.body),
        first_received_at=as_utc(row.first_received_at),
        last_received_at=as_utc(row.last_received_at),
        deliveries=row.deliveries,
    )


def list_rejected(
    engine: Engine, connection: str | None = None, limit: int = 50
) -> list[RejectedDelivery]:
    """The most recently delivered first."""
    query = (
        select(rejected_deliveries)
        .order_by(rejected_deliveries.c.last_received_at.desc(), rejected_deliveries.c.id.desc())
        .limit(limit)
    )
    if connection is not None:
        query = query.where(rejected_deliveries.c.connection == connection)
    with engine.connect() as conn:
        return [_row(row) for row in conn.execute(query)]


def get_rejected(engine: Engine, rejected_id: int) -> RejectedDelivery | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(rejected_deliveries).where(rejected_deliveries.c.id == rejected_id)
        ).first()
    return None if row is None else _row(row)


def require_storable(result: WebhookResult) -> None:
    """Raise WebhookInvalid when a receiver's result holds text no database can store.

    A JSON escape such as ``"\\u0000"`` or ``"\\ud800"`` in a signed body decodes into a
    string PostgreSQL or the drivers refuse, and an id longer than its column is refused by
    PostgreSQL (SQLite would keep it); caught here, whichever platform sent it.
    """
    for name, value, limit in (
        ("id", result.event_id, EVENT_ID_LENGTH),
        ("type", result.event_type, EVENT_TYPE_LENGTH),
    ):
        problem = _problem(value, limit)
        if problem is not None:
            raise WebhookInvalid(
                f"the event {name} {problem}",
                event_id=_usable(result.event_id, EVENT_ID_LENGTH),
                event_type=_usable(result.event_type, EVENT_TYPE_LENGTH),
            )
    content = json.dumps(
        [[e.model_dump(mode="json") for e in result.events], result.fetch_hints],
        ensure_ascii=False,
    )
    problem = text_problem(content, position=False)
    if problem is not None:
        raise WebhookInvalid(
            f"event {result.event_id}: a text field {problem}",
            event_id=result.event_id,
            event_type=result.event_type,
        )
