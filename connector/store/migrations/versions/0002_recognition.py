"""recognition: journal entries, their per-pool deltas and running totals, recognition state and
runs, refund money events, closed accounting periods, the posting outbox; an index on ledger
entries by pool and time for incremental runs.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounting_periods",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("starts_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_accounting_periods")),
    )
    op.create_table(
        "recognition_control",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("last_through", connector.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ledger_watermark", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pool_watermark", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("money_watermark", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_control")),
    )
    op.create_table(
        "recognition_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("through", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("started_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pools_recomputed", sa.Integer(), nullable=False),
        sa.Column("entries_created", sa.Integer(), nullable=False),
        sa.Column("ledger_watermark", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_runs")),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("base_key", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("entity", sa.String(length=100), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("billed", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.Column("breakage", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("contra", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["recognition_runs.id"],
            name=op.f("fk_journal_entries_run_id_recognition_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("base_key", "seq", name=op.f("uq_journal_entries_base_key")),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journal_entries_period_currency", ["period", "currency"], unique=False
        )

    op.create_table(
        "journal_outbox",
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("sink", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("sink_entry_id", sa.String(length=300), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("enqueued_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("posted_at", connector.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_journal_outbox_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("entry_id", "sink", name=op.f("pk_journal_outbox")),
    )
    with op.batch_alter_table("journal_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_journal_outbox_sink_status", ["sink", "status"], unique=False)

    op.create_table(
        "recognition_deltas",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("figure", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cohort", sa.String(length=7), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_recognition_deltas_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_recognition_deltas_pool_id_pools")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["recognition_runs.id"],
            name=op.f("fk_recognition_deltas_run_id_recognition_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_deltas")),
    )
    with op.batch_alter_table("recognition_deltas", schema=None) as batch_op:
        batch_op.create_index("ix_recognition_deltas_entry", ["entry_id"], unique=False)
        batch_op.create_index("ix_recognition_deltas_pool", ["pool_id"], unique=False)

    op.create_table(
        "recognition_money",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=300), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("to_deferred", sa.BigInteger(), nullable=False),
        sa.Column("contra", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_recognition_money_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recognition_money")),
        sa.UniqueConstraint("pool_id", "reference", name=op.f("uq_recognition_money_pool_id")),
    )
    op.create_table(
        "recognition_posted",
        sa.Column(
            "pool_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("billed", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.Column("breakage", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("contra", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_recognition_posted_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("pool_id", "period", "late", name=op.f("pk_recognition_posted")),
    )
    op.create_table(
        "recognition_state",
        sa.Column(
            "pool_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("cutoff", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("billed", sa.Boolean(), nullable=False),
        sa.Column("seg_deferred", sa.BigInteger(), nullable=False),
        sa.Column("seg_credits", sa.BigInteger(), nullable=False),
        sa.Column("seg_used", sa.BigInteger(), nullable=False),
        sa.Column("base_revenue", sa.BigInteger(), nullable=False),
        sa.Column("base_breakage", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("contra", sa.BigInteger(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("credits_left", sa.BigInteger(), nullable=False),
        sa.Column("next_event_at", connector.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_recognition_state_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("pool_id", name=op.f("pk_recognition_state")),
    )
    with op.batch_alter_table("recognition_state", schema=None) as batch_op:
        batch_op.create_index("ix_recognition_state_next_event", ["next_event_at"], unique=False)

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_pool_occurred", ["pool_id", "occurred_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_pool_occurred")

    with op.batch_alter_table("recognition_state", schema=None) as batch_op:
        batch_op.drop_index("ix_recognition_state_next_event")

    op.drop_table("recognition_state")
    op.drop_table("recognition_posted")
    op.drop_table("recognition_money")
    with op.batch_alter_table("recognition_deltas", schema=None) as batch_op:
        batch_op.drop_index("ix_recognition_deltas_pool")
        batch_op.drop_index("ix_recognition_deltas_entry")

    op.drop_table("recognition_deltas")
    with op.batch_alter_table("journal_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_outbox_sink_status")

    op.drop_table("journal_outbox")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_entries_period_currency")

    op.drop_table("journal_entries")
    op.drop_table("recognition_runs")
    op.drop_table("recognition_control")
    op.drop_table("accounting_periods")
