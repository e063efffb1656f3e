"""program sunset: campaigns, campaign items, programme sales switch

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(*values: str, name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "sunset_campaigns",
        sa.Column(
            "status",
            _enum("prepared", "approved", "completed", "cancelled", name="campaignstatus"),
            nullable=False,
        ),
        sa.Column("cutoff_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "policy",
            _enum("full", "pro_rata", "paid_minus_benefits", name="refundpolicy"),
            nullable=False,
        ),
        sa.Column("notice", sa.String(length=2000), nullable=False),
        sa.Column("prepared_by", sa.Uuid(), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("items_count", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("renewals_cancelled", sa.Integer(), nullable=False),
        sa.Column("benefits_ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> prepared_by",
            name=op.f("ck_sunset_campaigns_two_person"),
        ),
        sa.ForeignKeyConstraint(
            ["prepared_by"], ["users.id"], name=op.f("fk_sunset_campaigns_prepared_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_sunset_campaigns_approved_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sunset_campaigns")),
    )
    op.create_index(
        op.f("ix_sunset_campaigns_status"), "sunset_campaigns", ["status"], unique=False
    )
    op.create_table(
        "sunset_items",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("membership_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column(
            "status", _enum("pending", "requested", "skipped", name="itemstatus"), nullable=False
        ),
        sa.Column("manual_reason", sa.String(length=200), nullable=True),
        sa.Column("refund_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_sunset_items_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["sunset_campaigns.id"],
            name=op.f("fk_sunset_items_campaign_id_sunset_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_sunset_items_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_sunset_items_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_sunset_items_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_sunset_items_member_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_sunset_items_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refunds.id"], name=op.f("fk_sunset_items_refund_id_refunds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sunset_items")),
        sa.UniqueConstraint(
            "campaign_id", "order_id", name=op.f("uq_sunset_items_campaign_id_order_id")
        ),
        sa.UniqueConstraint("refund_id", name=op.f("uq_sunset_items_refund_id")),
    )
    op.create_index(
        "ix_sunset_items_campaign_id_status",
        "sunset_items",
        ["campaign_id", "status", "id"],
        unique=False,
    )
    op.create_index(op.f("ix_sunset_items_member_id"), "sunset_items", ["member_id"], unique=False)
    op.create_table(
        "program_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sales_open", sa.Boolean(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["sunset_campaigns.id"],
            name=op.f("fk_program_state_campaign_id_sunset_campaigns"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_state")),
    )
    op.execute("INSERT INTO program_state (id, sales_open) VALUES (1, true)")
    with op.batch_alter_table("refunds") as batch:
        batch.create_unique_constraint(
            op.f("uq_refunds_campaign_id_payment_id"), ["campaign_id", "payment_id"]
        )
    # the refund worker's claim (due refunds by next_attempt_at) reads this index in order
    op.create_index(
        "ix_refunds_due",
        "refunds",
        ["next_attempt_at", "id"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
        sqlite_where=sa.text("status IN ('pending', 'processing')"),
    )


def downgrade() -> None:
    op.drop_index("ix_refunds_due", table_name="refunds")
    with op.batch_alter_table("refunds") as batch:
        batch.drop_constraint(op.f("uq_refunds_campaign_id_payment_id"), type_="unique")
    op.drop_table("program_state")
    op.drop_index(op.f("ix_sunset_items_member_id"), table_name="sunset_items")
    op.drop_index("ix_sunset_items_campaign_id_status", table_name="sunset_items")
    op.drop_table("sunset_items")
    op.drop_index(op.f("ix_sunset_campaigns_status"), table_name="sunset_campaigns")
    op.drop_table("sunset_campaigns")
