"""refunds: fewer indexes to maintain per refund write

Every change of a refund's status is a non-HOT update (status is in the partial ix_refunds_due),
so each write adds an entry to every index of the table. Two of them only cost:
- ix_refunds_status: the worker's claim reads ix_refunds_due; the one other status lookup
  (a campaign's failed refunds: the exceptions queue, the campaign's completion check) gets a
  small partial index, ix_refunds_failed, that holds failed refunds only;
- ix_refunds_campaign_id: uq_refunds_campaign_id_payment_id starts with campaign_id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAILED = "status = 'failed'"


def upgrade() -> None:
    op.drop_index("ix_refunds_status", table_name="refunds")
    op.drop_index("ix_refunds_campaign_id", table_name="refunds")
    op.create_index(
        "ix_refunds_failed",
        "refunds",
        ["campaign_id"],
        unique=False,
        postgresql_where=sa.text(FAILED),
        sqlite_where=sa.text(FAILED),
    )


def downgrade() -> None:
    op.drop_index("ix_refunds_failed", table_name="refunds")
    op.create_index("ix_refunds_campaign_id", "refunds", ["campaign_id"], unique=False)
    op.create_index("ix_refunds_status", "refunds", ["status"], unique=False)
