"""refunds: one index for payment_id and (payment_id, campaign_id)

uq_refunds_campaign_id_payment_id becomes uq_refunds_payment_id_campaign_id, which also serves
every lookup by payment (what is left to refund, a member's refunds), so ix_refunds_payment_id
goes. Every refund's insert, and every change of its status (a non-HOT update: status is in
ix_refunds_due's predicate), wrote one index entry fewer: a million-card approval writes a
million refunds. A campaign's refunds are read by campaign only for its progress, which
counts them all.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 20:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_constraint("uq_refunds_campaign_id_payment_id", type_="unique")
        batch.drop_index("ix_refunds_payment_id")
        batch.create_unique_constraint(
            "uq_refunds_payment_id_campaign_id", ["payment_id", "campaign_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_constraint("uq_refunds_payment_id_campaign_id", type_="unique")
        batch.create_index("ix_refunds_payment_id", ["payment_id"])
        batch.create_unique_constraint(
            "uq_refunds_campaign_id_payment_id", ["campaign_id", "payment_id"]
        )
