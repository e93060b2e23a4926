"""Tables of the low-balance policy: alerts, refill requests and overage to bill as usage."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from connector.store.tables import Id, metadata
from connector.store.types import UTCDateTime

balance_alerts = Table(
    "balance_alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(200), ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # low_balance, refused
    Column("threshold", BigInteger, nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("burn_id", Id, ForeignKey("burns.id")),
    Column("key", String(300), nullable=False, unique=True),  # one alert per crossing
    Column("status", String(20), nullable=False),  # pending, delivered
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime()),
    Index("ix_balance_alerts_status", "status", "id"),
)

refill_requests = Table(
    "refill_requests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(200), ForeignKey("accounts.id"), nullable=False),
    Column("key", String(300), nullable=False, unique=True),  # idempotency key to the platform
    Column("platform", String(50), nullable=False),
    Column("item_id", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),  # pending, charged, failed
    Column("external_id", String(200)),  # the platform's invoice / charge id
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_refill_requests_status", "status", "id"),
)

overage_reports = Table(
    "overage_reports",
    metadata,
    Column("burn_id", Id, ForeignKey("burns.id"), primary_key=True, autoincrement=False),
    Column("account_id", String(200), ForeignKey("accounts.id"), nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("platform", String(50)),
    Column("status", String(20), nullable=False),  # pending, reported, failed, unbillable
    Column("external_id", String(200)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("reported_at", UTCDateTime()),
    Index("ix_overage_reports_status", "status", "burn_id"),
)
