"""The Chargebee sync cursor: the core's multi-stream cursor over Chargebee's listings.

Invoices (paid, then voided), credit notes and refund transactions are listed by ``updated_at``;
disputes by ``created_at`` over a look-back window; the Events API stream comes last and
catches what the listings' windows missed. A page token is Chargebee's opaque ``next_offset``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.platform.cursor import SyncCursor
from connector.platform.cursor import load_cursor as load_stream_cursor

STREAMS: tuple[str, ...] = (
    "paid_invoices",
    "voided_invoices",
    "credit_notes",
    "refunds",
    "disputes",
    "events",
)


def load_cursor(raw: Mapping[str, Any] | None) -> SyncCursor:
    return load_stream_cursor(raw, STREAMS, "Chargebee")


__all__ = ["STREAMS", "SyncCursor", "load_cursor"]
