"""Recognition's tables, on the ledger's shared ``metadata``.

Money is integer minor units (signed where a row is a change); timestamps are UTC. The journal
is append-only: an entry is never edited, a correction is a further entry.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from connector.store.tables import Id, ledger_entries, metadata
from connector.store.types import UTCDateTime

# Recognition reads a pool's entries in time order, and from a moment on (incremental runs).
Index(
    "ix_ledger_entries_pool_occurred",
    ledger_entries.c.pool_id,
    ledger_entries.c.occurred_at,
    ledger_entries.c.id,
)

recognition_control = Table(
    "recognition_control",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("timezone", String(64), nullable=False),
    Column("last_through", UTCDateTime()),
    Column("ledger_watermark", BigInteger, nullable=False, server_default="0"),
    Column("pool_watermark", BigInteger, nullable=False, server_default="0"),
    Column("money_watermark", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", UTCDateTime(), nullable=False),
)

recognition_runs = Table(
    "recognition_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("through", UTCDateTime(), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=False),
    Column("pools_recomputed", Integer, nullable=False),
    Column("entries_created", Integer, nullable=False),
    Column("ledger_watermark", BigInteger, nullable=False),
)

# Refunds, lost disputes, voids and failed refunds undone: the money side of a take-back (the
# ledger holds the credits). ``ledger_seq`` is the pool's last ledger entry id when the row was
# recorded: at one instant the row takes effect after that entry and before any later one.
recognition_money = Table(
    "recognition_money",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pool_id", Id, ForeignKey("pools.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # refund | void | reversal (a failed refund)
    Column("reference", String(300), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("credits", BigInteger, nullable=False),  # clawed back by the ledger
    Column("to_deferred", BigInteger, nullable=False),  # as computed when applied
    Column("contra", BigInteger, nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("ledger_seq", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("pool_id", "reference"),
)

# Each pool's replay state at its last cutoff, so the next run starts there.
recognition_state = Table(
    "recognition_state",
    metadata,
    Column("pool_id", Id, ForeignKey("pools.id"), primary_key=True, autoincrement=False),
    Column("cutoff", UTCDateTime(), nullable=False),
    Column("billed", Boolean, nullable=False),
    Column("seg_deferred", BigInteger, nullable=False),
    Column("seg_credits", BigInteger, nullable=False),
    Column("seg_used", BigInteger, nullable=False),
    Column("base_revenue", BigInteger, nullable=False),
    Column("base_breakage", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("contra", BigInteger, nullable=False),
    Column("closed", Boolean, nullable=False),
    Column("credits_left", BigInteger, nullable=False),
    Column("next_event_at", UTCDateTime()),  # earliest known event at or after the cutoff
    Index("ix_recognition_state_next_event", "next_event_at"),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("base_key", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("run_id", Id, ForeignKey("recognition_runs.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("period", String(7), nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("entity", String(100)),
    Column("late", Boolean, nullable=False),
    Column("billed", BigInteger, nullable=False),
    Column("revenue", BigInteger, nullable=False),
    Column("breakage", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("contra", BigInteger, nullable=False),
    Column("payload", JSON, nullable=False),  # the JournalEntry as posted
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("base_key", "seq"),
    Index("ix_journal_entries_period_currency", "period", "currency"),
)

# Per pool and period, what each entry took from it: the links from entries to pools (and the
# waterfall's source). entry_id is NULL where a summarized entry's pools cancelled out.
recognition_deltas = Table(
    "recognition_deltas",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, ForeignKey("recognition_runs.id"), nullable=False),
    Column("entry_id", String(64), ForeignKey("journal_entries.id")),
    Column("pool_id", Id, ForeignKey("pools.id"), nullable=False),
    Column("period", String(7), nullable=False),
    Column("late", Boolean, nullable=False),
    Column("figure", String(10), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("cohort", String(7), nullable=False),
    Index("ix_recognition_deltas_pool", "pool_id"),
    Index("ix_recognition_deltas_entry", "entry_id"),
)

# Running totals of the deltas per pool, period and lateness: what the next run subtracts, read
# in O(periods) per pool however many runs have touched it.
recognition_posted = Table(
    "recognition_posted",
    metadata,
    Column("pool_id", Id, ForeignKey("pools.id"), primary_key=True, autoincrement=False),
    Column("period", String(7), primary_key=True),
    Column("late", Boolean, primary_key=True),
    Column("billed", BigInteger, nullable=False),
    Column("revenue", BigInteger, nullable=False),
    Column("breakage", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("contra", BigInteger, nullable=False),
)

accounting_periods = Table(
    "accounting_periods",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=False),
)

# The subledger's deferred revenue per currency and entity as known when a period was closed:
# what the closed period's rollforward ties to forever ("" stands for no entity).
closed_period_balances = Table(
    "closed_period_balances",
    metadata,
    Column("period", String(7), ForeignKey("accounting_periods.period"), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("entity", String(100), primary_key=True),
    Column("deferred", BigInteger, nullable=False),
    Column("pools", BigInteger, nullable=False),
)

journal_outbox = Table(
    "journal_outbox",
    metadata,
    Column("entry_id", String(64), ForeignKey("journal_entries.id"), primary_key=True),
    Column("sink", String(100), primary_key=True),
    Column("status", String(10), nullable=False),  # pending | posted | failed
    Column("sink_entry_id", String(300)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("enqueued_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("posted_at", UTCDateTime()),
    Index("ix_journal_outbox_sink_status", "sink", "status"),
)
