"""finance: the subledger's deferred revenue as known when each period was closed

Revision ID: 0012
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0006"
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


def downgrade() -> None:
    op.drop_table("closed_period_balances")
