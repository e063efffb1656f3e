"""stores.opening_hours up to 500 characters: the merchant's weekly form (up to three ranges on
each of seven days, a night's small hours written on the next day too) can need more than 200
in OpenStreetMap syntax. SQLite does not enforce a VARCHAR's length, so only PostgreSQL's
column changes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "stores",
            "opening_hours",
            existing_type=sa.String(length=200),
            type_=sa.String(length=500),
            existing_nullable=True,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "stores",
            "opening_hours",
            existing_type=sa.String(length=500),
            type_=sa.String(length=200),
            existing_nullable=True,
        )
