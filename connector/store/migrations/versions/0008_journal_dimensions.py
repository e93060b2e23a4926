"""journal dimensions: a refused repair keeps the book's message

Entities and dimensions travel inside the journal entry payloads (JSON), so they need no
column; a re-post or reversal the book refuses (its period closed there) keeps the book's
message beside it, the way an outbox row does.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reconcile_repairs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reconcile_repairs", schema=None) as batch_op:
        batch_op.drop_column("last_error")
