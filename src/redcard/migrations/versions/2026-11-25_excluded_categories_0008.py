"""the part of a bill in the store's excluded categories (no discount on it)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("redemptions") as batch:
        batch.add_column(
            sa.Column("excluded_fen", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.create_check_constraint(
            "excluded_within_bill", "excluded_fen >= 0 AND excluded_fen <= bill_fen"
        )


def downgrade() -> None:
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_constraint("excluded_within_bill", type_="check")
        batch.drop_column("excluded_fen")
