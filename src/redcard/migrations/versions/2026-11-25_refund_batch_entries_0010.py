"""refunds record the journal entries that cover them

A batch of refunds (a sunset campaign's) is posted as one summarised entry per batch instead of
one per refund; each refund keeps the ref of the entry that covers its reservation and its
settlement, so the refunds table is the subledger of those entries.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("reserve_entry_ref", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("settle_entry_ref", sa.String(length=64), nullable=True))
    # until now every refund had entries of its own, under its refund number
    op.execute("UPDATE refunds SET reserve_entry_ref = out_refund_no")
    op.execute(
        "UPDATE refunds SET settle_entry_ref = out_refund_no"
        " WHERE status IN ('succeeded', 'offline')"
    )


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("settle_entry_ref")
        batch.drop_column("reserve_entry_ref")
