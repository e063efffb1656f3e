"""stores.redemptions_count goes: a store's uses are counted from its redemptions

Every commit updated the store's counter row, so the tills of a busy store queued on it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("redemptions_count")


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(
            sa.Column("redemptions_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE stores SET redemptions_count = (SELECT count(*) FROM redemptions r"
        " WHERE r.store_id = stores.id AND r.status = 'committed')"
    )
