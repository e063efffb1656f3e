"""sunset_items: the rows approval copies from carry no foreign keys, member_id no index

An item's membership_id, payment_id, order_id, member_id and plan_id are written only by
approval, from those very rows as it reads them, and those rows are never deleted. Each key's
check looked up and locked (FOR KEY SHARE) its parent row: about 15 µs per key per item, and
approval writes one item per paid card in one statement. The key to the campaign stays.

ix_sunset_items_member_id goes too: only approval's anti-join for the trial members' notice
reads member_id, once per campaign, and every item's insert and update paid for the index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = (
    ("fk_sunset_items_membership_id_memberships", "memberships", "membership_id"),
    ("fk_sunset_items_payment_id_payments", "payments", "payment_id"),
    ("fk_sunset_items_order_id_orders", "orders", "order_id"),
    ("fk_sunset_items_member_id_users", "users", "member_id"),
    ("fk_sunset_items_plan_id_plans", "plans", "plan_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("sunset_items") as batch:
        for name, _, _ in _KEYS:
            batch.drop_constraint(name, type_="foreignkey")
        batch.drop_index("ix_sunset_items_member_id")


def downgrade() -> None:
    with op.batch_alter_table("sunset_items") as batch:
        batch.create_index("ix_sunset_items_member_id", ["member_id"])
        for name, table, column in _KEYS:
            batch.create_foreign_key(name, table, [column], ["id"])
