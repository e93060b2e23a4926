"""sync robustness: lease holders with a heartbeat, run holders, exception targets

Revision ID: 0005
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "heartbeat_at", connector.store.types.UTCDateTime(timezone=True), nullable=True
            )
        )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=200), nullable=True))
    with op.batch_alter_table("sync_exceptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target", sa.String(length=700), nullable=True))
        batch_op.create_index("ix_sync_exceptions_target", ["target", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_exceptions_target")
        batch_op.drop_column("target")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("holder")
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("pid")
        batch_op.drop_column("host")
