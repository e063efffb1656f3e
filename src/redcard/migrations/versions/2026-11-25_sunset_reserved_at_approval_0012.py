"""sunset_items: approval reserves the refunds; no key to refunds, no status index

Approval now writes each card's refund itself (due at the cut-off), then the item that names
it, from the same temporary selection; refunds are never deleted. The key's check looked up
and locked (FOR KEY SHARE) every refund approval had just written. The unique index stays.

ix_sunset_items_campaign_id_status goes: it served the worker's claim of pending items. A
campaign's items are still found through uq_sunset_items_campaign_id_order_id.

The worker no longer turns pending items into refunds, so a campaign approved before this
revision and still holding pending items must finish on the previous version first: the
upgrade refuses rather than leave those cards unrefunded.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = "fk_sunset_items_refund_id_refunds"
_INDEX = "ix_sunset_items_campaign_id_status"


def upgrade() -> None:
    pending = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM sunset_items WHERE status = 'pending'")
    )
    if pending:
        raise RuntimeError(
            f"{pending} sunset items still wait for their refund: let the running sunset "
            "finish on the previous version of Redcard, then upgrade"
        )
    with op.batch_alter_table("sunset_items") as batch:
        batch.drop_constraint(_KEY, type_="foreignkey")
        batch.drop_index(_INDEX)


def downgrade() -> None:
    with op.batch_alter_table("sunset_items") as batch:
        batch.create_index(_INDEX, ["campaign_id", "status", "id"])
        batch.create_foreign_key(_KEY, "refunds", ["refund_id"], ["id"])
