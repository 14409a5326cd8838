"""receipt slips: the keyed hash of each printed copy's receipt code, beside its sheet id; lookups counted

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sheets") as batch:
        batch.add_column(sa.Column("receipt_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_sheets_receipt_hash"), ["receipt_hash"])
    op.create_table(
        "receipt_lookups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "outcome", name=op.f("pk_receipt_lookups")),
    )


def downgrade() -> None:
    op.drop_table("receipt_lookups")
    with op.batch_alter_table("sheets") as batch:
        batch.drop_constraint("uq_sheets_receipt_hash", type_="unique")
        batch.drop_column("receipt_hash")
