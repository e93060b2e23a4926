"""finance: the subledger's deferred revenue as known when each period was closed; manual
grants, voids and adjustments with who and why

Revision ID: 0012
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision = "0012"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Periods closed before this revision have no row: their rollforward check falls back to the
    # subledger recomputed now, as it always did.
    op.create_table(
        "closed_period_balances",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("entity", sa.String(length=100), nullable=False),
        sa.Column("deferred", sa.BigInteger(), nullable=False),
        sa.Column("pools", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period"],
            ["accounting_periods.period"],
            name=op.f("fk_closed_period_balances_period_accounting_periods"),
        ),
        sa.PrimaryKeyConstraint(
            "period", "currency", "entity", name=op.f("pk_closed_period_balances")
        ),
    )
    op.create_table(
        "manual_operations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("pool_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry_kind", sa.String(length=20), nullable=False),
        sa.Column("entry_reference", sa.String(length=300), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", connector.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_manual_operations_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_manual_operations_pool_id_pools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manual_operations")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_manual_operations_idempotency_key")),
    )
    op.create_index("ix_manual_operations_pool", "manual_operations", ["pool_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_manual_operations_pool", table_name="manual_operations")
    op.drop_table("manual_operations")
    op.drop_table("closed_period_balances")
