"""merchants and redemption

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:08:46.197130
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "merchants",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("contact_name", sa.String(length=64), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "left",
                name="merchantstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rejection_reason", sa.String(length=500), nullable=True),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.Column("payment_fee_bp", sa.Integer(), nullable=False),
        sa.Column("fee_threshold_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_above_bp", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "commission_bp >= 0 AND commission_bp <= 10000", name=op.f("ck_merchants_commission")
        ),
        sa.CheckConstraint(
            "fee_above_bp >= 0 AND fee_above_bp <= 10000", name=op.f("ck_merchants_fee_above")
        ),
        sa.CheckConstraint(
            "payment_fee_bp >= 0 AND payment_fee_bp <= 10000", name=op.f("ck_merchants_payment_fee")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_merchants_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_merchants_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
    )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merchants_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merchants_status"), ["status"], unique=False)

    op.create_table(
        "stores",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("opening_hours", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "live",
                "paused",
                "closed",
                name="storestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("discount_bp", sa.Integer(), nullable=False),
        sa.Column("discount_cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("min_bill_fen", sa.BigInteger(), nullable=False),
        sa.Column("excluded_categories", sa.Text(), nullable=True),
        sa.Column("exclusive_to_members", sa.Boolean(), nullable=False),
        sa.Column("pay_code", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("redemptions_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "discount_bp >= 1000 AND discount_bp <= 9000", name=op.f("ck_stores_discount_range")
        ),
        sa.CheckConstraint(
            "discount_cap_fen IS NULL OR discount_cap_fen > 0", name=op.f("ck_stores_cap_positive")
        ),
        sa.CheckConstraint(
            "lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180", name=op.f("ck_stores_coords")
        ),
        sa.CheckConstraint("min_bill_fen >= 0", name=op.f("ck_stores_min_bill")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_stores_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("pay_code", name=op.f("uq_stores_pay_code")),
    )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stores_category"), ["category"], unique=False)
        batch_op.create_index("ix_stores_lat_lng", ["lat", "lng"], unique=False)
        batch_op.create_index(batch_op.f("ix_stores_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stores_status"), ["status"], unique=False)

    op.create_table(
        "store_staff",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_staff_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_store_staff_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_staff")),
        sa.UniqueConstraint("user_id", "store_id", name=op.f("uq_store_staff_user_id_store_id")),
    )
    with op.batch_alter_table("store_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_staff_store_id"), ["store_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_store_staff_user_id"), ["user_id"], unique=False)

    op.create_table(
        "terminals",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("api_key_hash", sa.String(length=64), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_terminals_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminals")),
        sa.UniqueConstraint("api_key_hash", name=op.f("uq_terminals_api_key_hash")),
    )
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_terminals_store_id"), ["store_id"], unique=False)

    op.create_table(
        "redemptions",
        sa.Column(
            "kind",
            sa.Enum("code", "pay", name="redemptionkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "prepared",
                "committed",
                "undone",
                "expired",
                name="redemptionstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("membership_id", sa.Uuid(), nullable=False),
        sa.Column("terminal_id", sa.Uuid(), nullable=True),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("code_step", sa.Integer(), nullable=True),
        sa.Column("bill_fen", sa.BigInteger(), nullable=False),
        sa.Column("discount_fen", sa.BigInteger(), nullable=False),
        sa.Column("charged_fen", sa.BigInteger(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("statement_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("bill_fen >= 0", name=op.f("ck_redemptions_bill_not_negative")),
        sa.CheckConstraint(
            "charged_fen = bill_fen - discount_fen", name=op.f("ck_redemptions_charged_is_rest")
        ),
        sa.CheckConstraint(
            "discount_fen >= 0 AND discount_fen <= bill_fen",
            name=op.f("ck_redemptions_discount_range"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_redemptions_member_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_redemptions_membership_id_memberships"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_redemptions_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_redemptions_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["users.id"], name=op.f("fk_redemptions_staff_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_redemptions_store_id_stores")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["terminals.id"], name=op.f("fk_redemptions_terminal_id_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_redemptions_order_id")),
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_redemptions_member_committed_at", ["member_id", "committed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_redemptions_merchant_id"), ["merchant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_redemptions_statement_id"), ["statement_id"], unique=False
        )
        batch_op.create_index(
            "ix_redemptions_store_committed_at", ["store_id", "committed_at"], unique=False
        )

    op.create_table(
        "code_burns",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=False),
        sa.Column("burned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_code_burns_member_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_code_burns_redemption_id_redemptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_burns")),
        sa.UniqueConstraint("member_id", "step", name=op.f("uq_code_burns_member_id_step")),
        sa.UniqueConstraint("redemption_id", name=op.f("uq_code_burns_redemption_id")),
    )


def downgrade() -> None:

    op.drop_table("code_burns")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_redemptions_store_committed_at")
        batch_op.drop_index(batch_op.f("ix_redemptions_statement_id"))
        batch_op.drop_index(batch_op.f("ix_redemptions_merchant_id"))
        batch_op.drop_index("ix_redemptions_member_committed_at")

    op.drop_table("redemptions")
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_terminals_store_id"))

    op.drop_table("terminals")
    with op.batch_alter_table("store_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_staff_user_id"))
        batch_op.drop_index(batch_op.f("ix_store_staff_store_id"))

    op.drop_table("store_staff")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stores_status"))
        batch_op.drop_index(batch_op.f("ix_stores_merchant_id"))
        batch_op.drop_index("ix_stores_lat_lng")
        batch_op.drop_index(batch_op.f("ix_stores_category"))

    op.drop_table("stores")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merchants_status"))
        batch_op.drop_index(batch_op.f("ix_merchants_owner_id"))

    op.drop_table("merchants")
