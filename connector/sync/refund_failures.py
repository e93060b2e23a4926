"""Refunds that failed after the fact, on the sync path: applied, or kept until their refund is.

A failure can arrive before the refund it undoes (webhooks race, a catch-up sync reads pages out
of order). It is then an open exception; the moment the refund applies, the failures waiting for
it apply in the same transaction, so the refunded credits are never lost for good.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from connector.events import CanonicalEvent, RefundFailed, SourceKey
from connector.recognition.failed_refunds import apply_refund_failed
from connector.sync import exceptions
from connector.sync.tables import sync_exceptions


def apply_failure(conn: Connection, connection: str, event: RefundFailed) -> str:
    """Undo the refund ``event`` names; return the outcome word (``applied`` or ``orphan``)."""
    if apply_refund_failed(conn, event) is None:
        exceptions.record(
            conn,
            connection,
            event,
            "orphan",
            f"refund_failed for {event.refund}, which never applied to {event.source.platform} "
            f"purchase {event.target_object}; it is retried when the refund applies",
        )
        return "orphan"
    exceptions.resolve(conn, connection, [event])
    return "applied"


def apply_waiting_failures(conn: Connection, refund: SourceKey) -> int:
    """Apply the open failures that were waiting for ``refund``; returns how many applied."""
    applied = 0
    for connection, payload in conn.execute(
        select(sync_exceptions.c.connection, sync_exceptions.c.payload).where(
            sync_exceptions.c.status == exceptions.OPEN,
            sync_exceptions.c.event_kind == "refund_failed",
        )
    ).all():
        event: CanonicalEvent = exceptions.EVENT.validate_python(payload)
        if isinstance(event, RefundFailed) and event.refund == refund:
            applied += apply_failure(conn, connection, event) == "applied"
    return applied
