"""discovery: back to a plain (cell_fine, status) index for the nearby query.

Nearby now ranks each process's snapshot of the stores (discovery/snapshot.py, migration
0026) and reads the database only to fill a cell it lacks, with every column a result shows:
the covering index `ix_stores_nearby` (migration 0021) no longer covers that read, and its
fourteen columns cost every store write. `ix_stores_cell_fine_status` finds a cell's stores,
as `ix_stores_cell_coarse_status` does for coarse cells.

Plain op.drop_index / op.create_index, not batch mode: on SQLite a batch that rebuilt
`stores` would drop migration 0026's triggers.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
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
    op.drop_index("ix_stores_nearby", table_name="stores")
    op.create_index("ix_stores_cell_fine_status", "stores", ["cell_fine", "status"])


def downgrade() -> None:
    op.drop_index("ix_stores_cell_fine_status", table_name="stores")
    op.create_index("ix_stores_nearby", "stores", NEARBY_COLUMNS)
