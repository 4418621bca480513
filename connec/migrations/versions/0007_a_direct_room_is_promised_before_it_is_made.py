"""a direct room is promised before it is made

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("direct_rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("room_txn", sa.String(length=24), nullable=True))
        batch_op.alter_column("room_id", existing_type=sa.String(length=255), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM direct_rooms WHERE room_id IS NULL")
    with op.batch_alter_table("direct_rooms", schema=None) as batch_op:
        batch_op.alter_column("room_id", existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_column("room_txn")
