"""blind entry and double-blind keying of written answers, per questionnaire version

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # added in place on both databases: rebuilding the table (SQLite's batch mode) would trip over
    # the print runs that point at it
    op.add_column("questionnaire_versions",
                  sa.Column("blind_entry", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("questionnaire_versions",
                  sa.Column("double_keying", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "keyings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("field_reading_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["field_reading_id"], ["field_readings.id"],
                                name=op.f("fk_keyings_field_reading_id_field_readings"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_keyings_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyings")),
        sa.UniqueConstraint("field_reading_id", "user_id", name=op.f("uq_keyings_field_reading_id")),
    )
    op.create_index(op.f("ix_keyings_field_reading_id"), "keyings", ["field_reading_id"], unique=False)
    op.create_index(op.f("ix_keyings_user_id"), "keyings", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("keyings")
    op.execute("ALTER TABLE questionnaire_versions DROP COLUMN double_keying")
    op.execute("ALTER TABLE questionnaire_versions DROP COLUMN blind_entry")
