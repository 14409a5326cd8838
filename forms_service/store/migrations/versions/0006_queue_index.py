"""an index the verification queue walks in order: state, confidence, id

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 15:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_field_readings_queue", "field_readings", ["state", "confidence", "id"])


def downgrade() -> None:
    op.drop_index("ix_field_readings_queue", table_name="field_readings")
