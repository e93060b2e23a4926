"""The entries reconciliation adds to a sink: reversals and re-posts, one sink each.

They are kept apart from ``journal_entries`` on purpose: the outbox sends every journal entry to
every sink, while a repair belongs to the one sink whose postings it corrects.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table, Text

from connector.store.tables import metadata
from connector.store.types import UTCDateTime

reconcile_repairs = Table(
    "reconcile_repairs",
    metadata,
    Column("id", String(64), primary_key=True),  # the repair entry's id, derived deterministically
    Column("sink", String(100), nullable=False),
    Column("action", String(10), nullable=False),  # reverse | repost
    Column("reason", String(20), nullable=False),  # the difference it repairs
    Column("reconciled_period", String(7), nullable=False),  # where the difference was found
    Column("original_entry_id", String(300)),  # reversed or re-posted entry (None: no id in sink)
    Column("original_sink_id", String(300)),  # the posting a reversal reverses
    Column("period", String(7), nullable=False),  # the repair entry's own period
    Column("currency", String(3), nullable=False),
    Column("payload", JSON, nullable=False),  # the JournalEntry posted
    Column("status", String(10), nullable=False),  # pending | posted | blocked
    Column("sink_entry_id", String(300)),
    Column("last_error", Text),  # the book's message when it refused the entry
    Column("created_at", UTCDateTime(), nullable=False),
    Column("posted_at", UTCDateTime()),
    Index("ix_reconcile_repairs_sink_period", "sink", "period"),
)
