"""circles: small interest groups with a host

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-03 17:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connec.models

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "circles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("slot", sa.String(length=8), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=True),
        sa.Column("room_txn", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", connec.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("introduced_at", connec.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", connec.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", connec.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id"),
    )
    with op.batch_alter_table("circles", schema=None) as batch_op:
        batch_op.create_index("ix_circles_state", ["state"], unique=False)

    op.create_table(
        "circle_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("circle_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("asked_at", connec.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", connec.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invited_at", connec.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", connec.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("noticed_at", connec.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["circle_id"], ["circles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("circle_id", "person_id"),
    )
    with op.batch_alter_table("circle_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_circle_members_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "circle_wishes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", connec.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("circle_wishes", schema=None) as batch_op:
        batch_op.create_index("ix_circle_wishes_open", ["state", "kind"], unique=False)

    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("circle_id", sa.Integer(), nullable=True))
        batch_op.alter_column("match_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_foreign_key(
            "fk_bookings_circle_id_circles", "circles", ["circle_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint("fk_bookings_circle_id_circles", type_="foreignkey")
        batch_op.alter_column("match_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("circle_id")

    with op.batch_alter_table("circle_wishes", schema=None) as batch_op:
        batch_op.drop_index("ix_circle_wishes_open")

    op.drop_table("circle_wishes")
    with op.batch_alter_table("circle_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_circle_members_person_id"))

    op.drop_table("circle_members")
    with op.batch_alter_table("circles", schema=None) as batch_op:
        batch_op.drop_index("ix_circles_state")

    op.drop_table("circles")
