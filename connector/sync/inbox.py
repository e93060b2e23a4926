"""The webhook inbox: verified deliveries are stored first and applied after the answer.

Storing before answering means a delivery the platform saw acknowledged is never lost; the
unique (connection, event id) makes a repeated delivery a no-op; processing goes through the
same apply path as a sync run, so a webhook and the next sync can both see an event safely.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine, select, update

from connector import metrics
from connector.events import CanonicalEvent
from connector.ports import WebhookResult
from connector.runtime import Runtime
from connector.store.sql import insert_ignoring_duplicates
from connector.sync.apply import apply_events
from connector.sync.tables import webhook_inbox
from connector.timeutil import utcnow

MAX_ATTEMPTS = 5
EVENTS = TypeAdapter[list[CanonicalEvent]](list[CanonicalEvent])


def accept(
    engine: Engine, connection: str, result: WebhookResult, body: bytes, received_at: datetime
) -> bool:
    """Store a verified delivery; False when this event id was stored before (a duplicate)."""
    payload: dict[str, Any] = {
        "events": [e.model_dump(mode="json") for e in result.events],
        "fetch_hints": list(result.fetch_hints),
    }
    with engine.begin() as conn:
        stored = conn.execute(
            insert_ignoring_duplicates(conn, webhook_inbox, ["connection", "event_id"])
            .values(
                connection=connection,
                event_id=result.event_id,
                event_type=result.event_type,
                received_at=received_at,
                body=body.decode("utf-8", errors="replace"),
                payload=payload,
                status="ignored" if result.ignored else "pending",
                attempts=0,
            )
            .returning(webhook_inbox.c.id)
        ).first()
    return stored is not None


def process_pending(runtime: Runtime, connection: str | None = None, limit: int = 100) -> int:
    """Apply up to ``limit`` pending deliveries, oldest first; return how many were applied.

    A delivery that fails stays pending with its error until MAX_ATTEMPTS, then is marked
    failed (the next sync run still catches the event from the platform's own listing).
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
        pending = conn.execute(query).all()
    processed = 0
    for row in pending:
        try:
            events = EVENTS.validate_python(row.payload["events"])
            hints = row.payload.get("fetch_hints") or []
            if hints:
                events.extend(runtime.source(row.connection).fetch_objects(hints))
            with runtime.engine.begin() as conn:
                apply_events(conn, row.connection, events, runtime.mappings.current)
                _mark(conn, row.id, status="processed", error=None)
            processed += 1
            metrics.WEBHOOKS.labels(row.connection, "processed").inc()
        except Exception as exc:
            with runtime.engine.begin() as conn:
                attempts = (
                    conn.execute(
                        select(webhook_inbox.c.attempts).where(webhook_inbox.c.id == row.id)
                    ).scalar_one()
                    + 1
                )
                _mark(
                    conn,
                    row.id,
                    status="failed" if attempts >= MAX_ATTEMPTS else "pending",
                    error=f"{type(exc).__name__}: {exc}",
                    attempts=attempts,
                )
            metrics.WEBHOOKS.labels(row.connection, "error").inc()
    return processed


def _mark(
    conn: Any, row_id: int, status: str, error: str | None, attempts: int | None = None
) -> None:
    values: dict[str, Any] = {"status": status, "error": error, "processed_at": utcnow()}
    if attempts is not None:
        values["attempts"] = attempts
    conn.execute(update(webhook_inbox).where(webhook_inbox.c.id == row_id).values(**values))
