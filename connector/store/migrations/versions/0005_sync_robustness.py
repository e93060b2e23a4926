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
    _name_the_targets_of_open_exceptions()


def _name_the_targets_of_open_exceptions() -> None:
    """Exceptions recorded before this revision: the purchase each refund, credit note, dispute
    or void waits for, read from the event it keeps, so that the purchase applies it."""
    table = sa.table(
        "sync_exceptions",
        sa.column("id", sa.Integer()),
        sa.column("payload", sa.JSON()),
        sa.column("status", sa.String()),
        sa.column("target", sa.String()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(table.c.id, table.c.payload).where(table.c.status == "open"))
    for row_id, payload in rows.all():
        target = payload.get("target_object") if isinstance(payload, dict) else None
        platform = (payload.get("source") or {}).get("platform") if target else None
        if target and platform:
            bind.execute(
                sa.update(table).where(table.c.id == row_id).values(target=f"{platform}:{target}")
            )


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
