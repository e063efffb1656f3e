"""companion: a household companion on a member's card (issue 16).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "companions",
        sa.Column("primary_id", sa.Uuid(), nullable=False),
        sa.Column("companion_id", sa.Uuid(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "declined",
                "removed",
                "ended",
                name="companionstatus",
                native_enum=False,
                create_constraint=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["companion_id"], ["users.id"], name=op.f("fk_companions_companion_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["primary_id"], ["users.id"], name=op.f("fk_companions_primary_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companions")),
    )
    with op.batch_alter_table("companions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_companions_primary_id"), ["primary_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_companions_companion_id"), ["companion_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_companions_phone"), ["phone"], unique=False)
        batch_op.create_index(
            "uq_companions_one_per_primary",
            ["primary_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('pending', 'active')"),
            sqlite_where=sa.text("status IN ('pending', 'active')"),
        )
        batch_op.create_index(
            "uq_companions_one_card_per_companion",
            ["companion_id"],
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("companions", schema=None) as batch_op:
        batch_op.drop_index("uq_companions_one_card_per_companion")
        batch_op.drop_index("uq_companions_one_per_primary")
        batch_op.drop_index(batch_op.f("ix_companions_phone"))
        batch_op.drop_index(batch_op.f("ix_companions_companion_id"))
        batch_op.drop_index(batch_op.f("ix_companions_primary_id"))
    op.drop_table("companions")
