"""renewal: payment mandates, renewal notices and charges (issue 16).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid(), nullable=False)


def _at(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, other: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{other}.id"], name=op.f(f"fk_{table}_{column}_{other}")
    )


def upgrade() -> None:
    op.create_table(
        "payment_mandates",
        _id(),
        _at("created_at", nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("mandate_no", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("channel_ref", sa.String(length=64), nullable=True),
        sa.Column("sign_url", sa.String(length=500), nullable=True),
        _at("signed_at"),
        _at("revoked_at"),
        sa.Column("revoke_pending", sa.Boolean(), nullable=False),
        _fk("payment_mandates", "member_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_mandates")),
        sa.UniqueConstraint("mandate_no", name=op.f("uq_payment_mandates_mandate_no")),
    )
    op.create_index(op.f("ix_payment_mandates_member_id"), "payment_mandates", ["member_id"])
    op.create_index(
        "ix_payment_mandates_revoke_pending",
        "payment_mandates",
        ["id"],
        postgresql_where=sa.text("revoke_pending"),
        sqlite_where=sa.text("revoke_pending"),
    )
    op.create_table(
        "renewals",
        _id(),
        _at("created_at", nullable=False),
        sa.Column("membership_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("mandate_id", sa.Uuid(), nullable=True),
        _at("period_starts_at", nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        _at("noticed_at", nullable=False),
        _at("due_at", nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("charge_no", sa.String(length=64), nullable=False),
        sa.Column("in_doubt", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        _at("finished_at"),
        _fk("renewals", "membership_id", "memberships"),
        _fk("renewals", "member_id", "users"),
        _fk("renewals", "plan_id", "plans"),
        _fk("renewals", "mandate_id", "payment_mandates"),
        _fk("renewals", "order_id", "orders"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewals")),
        sa.UniqueConstraint("membership_id", "period_starts_at", name="uq_renewals_period"),
        sa.UniqueConstraint("charge_no", name=op.f("uq_renewals_charge_no")),
    )
    op.create_index(op.f("ix_renewals_member_id"), "renewals", ["member_id"])
    op.create_index("ix_renewals_status_due_at", "renewals", ["status", "due_at"])
    op.create_table(
        "renewal_attempts",
        _id(),
        _at("created_at", nullable=False),
        sa.Column("renewal_id", sa.Uuid(), nullable=False),
        sa.Column("charge_no", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        _fk("renewal_attempts", "renewal_id", "renewals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_attempts")),
        sa.UniqueConstraint("charge_no", name=op.f("uq_renewal_attempts_charge_no")),
    )
    op.create_index(op.f("ix_renewal_attempts_renewal_id"), "renewal_attempts", ["renewal_id"])


def downgrade() -> None:
    op.drop_table("renewal_attempts")
    op.drop_table("renewals")
    op.drop_table("payment_mandates")
