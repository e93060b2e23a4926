"""refund rules: each refund's place in the ledger's own order

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows recorded before this revision keep 0: at their instant they replay before the
    # ledger's entries, as they were computed.
    with op.batch_alter_table("recognition_money", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ledger_seq", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("recognition_money", schema=None) as batch_op:
        batch_op.drop_column("ledger_seq")
