"""curation: the day each store is next due for a re-evaluation of its 精选 badge

The worker re-evaluates a store's community score (reviews lose weight with age) and badge
(inspections expire) once per business day: `stores.curation_due_on` is the marker, set to
the next day after each evaluation, and NULL for a store with nothing to evaluate (no review,
no inspection, no badge). Indexed, so the worker's claim reads only the stores due.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("curation_due_on", sa.Date(), nullable=True))
    op.create_index("ix_stores_curation_due_on", "stores", ["curation_due_on"], unique=False)
    # every store with something to evaluate is due at once
    op.execute(
        "UPDATE stores SET curation_due_on = CURRENT_DATE "
        "WHERE review_count > 0 OR curated OR inspected_on IS NOT NULL "
        "OR id IN (SELECT store_id FROM store_inspections)"
    )


def downgrade() -> None:
    op.drop_index("ix_stores_curation_due_on", table_name="stores")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("curation_due_on")
