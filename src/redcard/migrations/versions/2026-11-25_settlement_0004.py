"""settlement statements and their lines

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "statements",
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "paid_out",
                name="statementstatus",
                native_enum=False,
                length=32,
                create_constraint=False,
            ),
            nullable=False,
        ),
        sa.Column("bills_count", sa.Integer(), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("discount_fen", sa.BigInteger(), nullable=False),
        sa.Column("charged_fen", sa.BigInteger(), nullable=False),
        sa.Column("sales_before_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.Column("undone_count", sa.Integer(), nullable=False),
        sa.Column("undone_fen", sa.BigInteger(), nullable=False),
        sa.Column("clawback_count", sa.Integer(), nullable=False),
        sa.Column("clawback_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_payable_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_out_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "charged_fen = gross_fen - discount_fen", name=op.f("ck_statements_charged_is_rest")
        ),
        sa.CheckConstraint(
            "net_payable_fen = charged_fen - fee_fen - commission_fen - clawback_fen",
            name=op.f("ck_statements_net_is_rest"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_statements_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["paid_out_by"], ["users.id"], name=op.f("fk_statements_paid_out_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("merchant_id", "day", name=op.f("uq_statements_merchant_id_day")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statements_merchant_id"), ["merchant_id"])

    op.create_table(
        "statement_lines",
        sa.Column("statement_id", sa.Uuid(), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "bill",
                "undone",
                "clawback",
                name="statementlinekind",
                native_enum=False,
                length=32,
                create_constraint=False,
            ),
            nullable=False,
        ),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bill_fen", sa.BigInteger(), nullable=False),
        sa.Column("discount_fen", sa.BigInteger(), nullable=False),
        sa.Column("charged_fen", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_lines_statement_id_statements"),
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_statement_lines_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_statement_lines_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_lines")),
        sa.UniqueConstraint(
            "redemption_id", "kind", name=op.f("uq_statement_lines_redemption_id_kind")
        ),
    )
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statement_lines_statement_id"), ["statement_id"])


def downgrade() -> None:
    op.drop_table("statement_lines")
    op.drop_table("statements")
