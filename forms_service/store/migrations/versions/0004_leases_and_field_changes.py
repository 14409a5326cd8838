"""leases on verification tasks; the audit log of fields people changed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_leases_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task", name=op.f("pk_leases")),
    )
    op.create_index(op.f("ix_leases_expires_at"), "leases", ["expires_at"], unique=False)
    op.create_index(op.f("ix_leases_user_id"), "leases", ["user_id"], unique=False)
    op.create_table(
        "field_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_reading_id", sa.Integer(), nullable=True),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=False),
        sa.Column("new_value", sa.JSON(), nullable=False),
        sa.Column("old_state", sa.String(length=16), nullable=False),
        sa.Column("new_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["field_reading_id"], ["field_readings.id"],
                                name=op.f("fk_field_changes_field_reading_id_field_readings"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_field_changes_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_changes")),
    )
    for column in ("at", "field_reading_id", "response_id", "user_id"):
        op.create_index(op.f(f"ix_field_changes_{column}"), "field_changes", [column], unique=False)


def downgrade() -> None:
    op.drop_table("field_changes")
    op.drop_table("leases")
