"""data rights: closed accounts and anonymised records (issue 16).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No schema change: closing an account uses users.closed_at (0001), overwrites the user
    # row's personal columns and deletes the member's other personal rows in place
    # (datarights/tables.py); the money records keep their columns.
    pass


def downgrade() -> None:
    pass
