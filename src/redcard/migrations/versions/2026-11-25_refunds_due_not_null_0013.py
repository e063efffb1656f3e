"""refunds.next_attempt_at is NOT NULL

The worker's claim read `next_attempt_at IS NULL OR next_attempt_at <= now`, which PostgreSQL
answers with a bitmap of every due refund, sorted at each claim: with a million refunds
reserved at approval, every claim read them all. Every writer sets the column; a row left
without it is due since its creation. The claim is now one ordered range of ix_refunds_due.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE refunds SET next_attempt_at = created_at WHERE next_attempt_at IS NULL")
    with op.batch_alter_table("refunds") as batch:
        batch.alter_column(
            "next_attempt_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.alter_column(
            "next_attempt_at", existing_type=sa.DateTime(timezone=True), nullable=True
        )
