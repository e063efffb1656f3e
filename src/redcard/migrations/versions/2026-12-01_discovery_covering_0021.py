"""discovery: the nearby query's index covers its columns.

`ix_stores_cell_fine_status` (cell_fine, status) becomes `ix_stores_nearby`: the same leading
columns, then every column the nearby query reads or filters on, so both databases answer it
from the index alone (no table lookup per store in the covering cells; the lat/lng box and
the category / curated filters are checked in the index). Measured in docs/performance.md.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEARBY_COLUMNS = [
    "cell_fine",
    "status",
    "lat",
    "lng",
    "category",
    "curated",
    "id",
    "merchant_id",
    "score",
    "inspected_on",
    "last_review_at",
    "opening_hours",
    "timezone",
    "name",
]


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_index("ix_stores_cell_fine_status")
        batch.create_index("ix_stores_nearby", NEARBY_COLUMNS)


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_index("ix_stores_nearby")
        batch.create_index("ix_stores_cell_fine_status", ["cell_fine", "status"])
