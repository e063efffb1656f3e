"""member codes, code failures and code locks (redemption rate limiting)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_codes",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("handle", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_member_codes_member_id_users")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_codes")),
        sa.UniqueConstraint("handle", name=op.f("uq_member_codes_handle")),
    )
    op.create_table(
        "code_failures",
        sa.Column("till_key", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_code_failures_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_failures")),
    )
    with op.batch_alter_table("code_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_code_failures_till_key_failed_at", ["till_key", "failed_at"], unique=False
        )
        batch_op.create_index(
            "ix_code_failures_store_id_failed_at", ["store_id", "failed_at"], unique=False
        )
        batch_op.create_index("ix_code_failures_ip_failed_at", ["ip", "failed_at"], unique=False)
    op.create_table(
        "code_locks",
        sa.Column("scope_key", sa.String(length=100), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("scope_key", name=op.f("pk_code_locks")),
    )


def downgrade() -> None:
    op.drop_table("code_locks")
    with op.batch_alter_table("code_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_code_failures_ip_failed_at")
        batch_op.drop_index("ix_code_failures_store_id_failed_at")
        batch_op.drop_index("ix_code_failures_till_key_failed_at")
    op.drop_table("code_failures")
    op.drop_table("member_codes")
