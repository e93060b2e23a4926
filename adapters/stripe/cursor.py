"""The Stripe sync cursor: the core's multi-stream cursor over Stripe's listings.

Each stream is listed by ``created`` (Stripe has no ``updated`` filter); the Events API stream
comes last and catches what changed after its object's window had passed. A page token is the id
of the last object handed out (Stripe's ``starting_after``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.platform.cursor import RunState, SyncCursor
from connector.platform.cursor import load_cursor as load_stream_cursor

STREAMS: tuple[str, ...] = (
    "paid_invoices",
    "checkout_sessions",
    "void_invoices",
    "credit_notes",
    "refunds",
    "disputes",
    "events",
)


def load_cursor(raw: Mapping[str, Any] | None) -> SyncCursor:
    return load_stream_cursor(raw, STREAMS, "Stripe")


__all__ = ["STREAMS", "RunState", "SyncCursor", "load_cursor"]
