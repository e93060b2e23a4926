"""Tables of the sync engine."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text, UniqueConstraint

from connector.store.tables import Id, metadata
from connector.store.types import UTCDateTime

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection", String(100), nullable=False),
    Column("trigger", String(20), nullable=False),  # schedule, manual, webhook
    Column("status", String(20), nullable=False),  # running, succeeded, failed, abandoned
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),
    Column("counts", JSON, nullable=False),
    Column("error", Text),
    Column("holder", String(200)),  # the lease holder running it, to mark it abandoned
    Index("ix_sync_runs_connection_started", "connection", "started_at"),
)

sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("connection", String(100), primary_key=True),
    Column("cursor", JSON, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),  # host:pid:token
    Column("expires_at", UTCDateTime(), nullable=False),  # heartbeat_at + ttl
    Column("host", String(200)),
    Column("pid", Integer),
    Column("heartbeat_at", UTCDateTime()),
)

sync_exceptions = Table(
    "sync_exceptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection", String(100), nullable=False),
    Column("source_key", String(700), nullable=False),
    Column("event_kind", String(20), nullable=False),
    Column("reason_code", String(40), nullable=False),  # unmapped, held, orphan, invalid
    Column("reason", Text, nullable=False),
    Column("payload", JSON, nullable=False),  # the canonical event, to retry it as is
    Column("status", String(20), nullable=False),  # open, resolved
    Column("attempts", Integer, nullable=False),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
    # platform:object of the purchase a refund, dispute or void targets: retried when it applies
    Column("target", String(700)),
    UniqueConstraint("connection", "source_key", "event_kind"),
    Index("ix_sync_exceptions_status", "status"),
    Index("ix_sync_exceptions_target", "target", "status"),
)

webhook_inbox = Table(
    "webhook_inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection", String(100), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("body", Text, nullable=False),  # the raw delivery, kept for audit
    Column("payload", JSON, nullable=False),  # verified canonical events and fetch hints
    Column("status", String(20), nullable=False),  # pending, processed, failed, ignored
    Column("processed_at", UTCDateTime()),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    UniqueConstraint("connection", "event_id"),
    Index("ix_webhook_inbox_status", "status", "id"),
)

# Every canonical event as it was applied, in order: what `creditsync rebuild --verify` replays.
source_events = Table(
    "source_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("connection", String(100), nullable=False),
    Column("source_key", String(700), nullable=False),
    Column("event_kind", String(20), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("applied_at", UTCDateTime(), nullable=False),
    UniqueConstraint("source_key", "event_kind"),
)
