"""The webhook inbox: verified deliveries are stored first and applied after the answer.

Storing before answering means a delivery the platform saw acknowledged is never lost; the
unique (connection, event id) makes a repeated delivery a no-op; processing goes through the
same apply path as a sync run, so a webhook and the next sync can both see an event safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Connection, Engine, Row, select, update

from connector import metrics
from connector.events import CanonicalEvent
from connector.ports import WebhookResult
from connector.runtime import Runtime
from connector.store.sql import insert_ignoring_duplicates
from connector.sync.apply import apply_events
from connector.sync.tables import webhook_inbox
from connector.timeutil import utcnow

MAX_ATTEMPTS = 5
Delivery = Row[Any, Any, Any]  # (id, connection, payload)
EVENTS = TypeAdapter[list[CanonicalEvent]](list[CanonicalEvent])


@dataclass(frozen=True)
class Received:
    """A verified delivery on its way into the inbox."""

    connection: str
    result: WebhookResult
    body: bytes
    received_at: datetime


def accept(
    engine: Engine, connection: str, result: WebhookResult, body: bytes, received_at: datetime
) -> bool:
    """Store a verified delivery; False when this event id was stored before (a duplicate)."""
    with engine.begin() as conn:
        return accept_many(conn, [Received(connection, result, body, received_at)])[0]


def accept_many(conn: Connection, deliveries: Sequence[Received]) -> list[bool]:
    """Store verified deliveries with one statement; for each, False when its event id was
    stored before (or earlier in ``deliveries``): a duplicate, stored once.

    One statement and one commit for a burst is what keeps acknowledgements short when many
    arrive at once (see ``connector.sync.inbox_writer``)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for d in deliveries:
        key = (d.connection, d.result.event_id)
        if key not in rows:
            rows[key] = _row(d)
    stored = {
        (row.connection, row.event_id)
        for row in conn.execute(
            insert_ignoring_duplicates(conn, webhook_inbox, ["connection", "event_id"])
            .values(list(rows.values()))
            .returning(webhook_inbox.c.connection, webhook_inbox.c.event_id)
        )
    }
    answers = []
    for d in deliveries:
        key = (d.connection, d.result.event_id)
        answers.append(key in stored)
        stored.discard(key)  # a second delivery of the same id in this batch is a duplicate
    return answers


def _row(d: Received) -> dict[str, Any]:
    return {
        "connection": d.connection,
        "event_id": d.result.event_id,
        "event_type": d.result.event_type,
        "received_at": d.received_at,
        "body": d.body.decode("utf-8", errors="replace"),
        "payload": {
            "events": [e.model_dump(mode="json") for e in d.result.events],
            "fetch_hints": list(d.result.fetch_hints),
        },
        "status": "ignored" if d.result.ignored else "pending",
        "attempts": 0,
    }


def process_pending(runtime: Runtime, connection: str | None = None, limit: int = 100) -> int:
    """Apply up to ``limit`` pending deliveries, oldest first; return how many were applied.

    The deliveries of one connection go through apply in one transaction (a burst costs about
    what one delivery does); if that fails, each is tried alone so that one bad delivery holds
    up no other. A delivery that fails stays pending with its error until MAX_ATTEMPTS, then is
    marked failed (the next sync run still catches the event from the platform's listing).
    """
    query = (
        select(webhook_inbox.c.id, webhook_inbox.c.connection, webhook_inbox.c.payload)
        .where(webhook_inbox.c.status == "pending")
        .order_by(webhook_inbox.c.id)
        .limit(limit)
    )
    if connection is not None:
        query = query.where(webhook_inbox.c.connection == connection)
    with runtime.engine.connect() as conn:
        pending: list[Delivery] = list(conn.execute(query).all())
    by_connection: dict[str, list[Delivery]] = {}
    for row in pending:
        by_connection.setdefault(row.connection, []).append(row)
    processed = 0
    for name, rows in by_connection.items():
        try:
            _apply(runtime, name, rows)
            processed += len(rows)
        except Exception:
            for row in rows:  # find the one that failed; the others apply on their own
                try:
                    _apply(runtime, name, [row])
                    processed += 1
                except Exception as exc:
                    _failed(runtime, row.id, exc)
                    metrics.WEBHOOKS.labels(name, "error").inc()
    return processed


def _apply(runtime: Runtime, connection: str, rows: list[Delivery]) -> None:
    """Apply the deliveries' events and mark them processed, in one transaction."""
    events: list[CanonicalEvent] = []
    hints: list[str] = []
    for row in rows:
        events.extend(EVENTS.validate_python(row.payload["events"]))
        hints.extend(row.payload.get("fetch_hints") or [])
    if hints:
        events.extend(runtime.source(connection).fetch_objects(hints))
    with runtime.engine.begin() as conn:
        apply_events(conn, connection, events, runtime.mappings.current)
        conn.execute(
            update(webhook_inbox)
            .where(webhook_inbox.c.id.in_([row.id for row in rows]))
            .values(status="processed", error=None, processed_at=utcnow())
        )
    metrics.WEBHOOKS.labels(connection, "processed").inc(len(rows))


def _failed(runtime: Runtime, row_id: int, exc: Exception) -> None:
    with runtime.engine.begin() as conn:
        attempts = (
            conn.execute(
                select(webhook_inbox.c.attempts).where(webhook_inbox.c.id == row_id)
            ).scalar_one()
            + 1
        )
        conn.execute(
            update(webhook_inbox)
            .where(webhook_inbox.c.id == row_id)
            .values(
                status="failed" if attempts >= MAX_ATTEMPTS else "pending",
                error=f"{type(exc).__name__}: {exc}",
                attempts=attempts,
                processed_at=utcnow(),
            )
        )
