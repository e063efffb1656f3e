"""notifications retry and fail on their own; jobs carry the request id that enqueued them

A notification the sink refuses no longer stops the worker: it waits (next_attempt_at,
attempts, last_error) or leaves the queue (failed_at). The claim reads one ordered range of
ix_notifications_due. Refunds and notifications keep the request id that wrote them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = "sent_at IS NULL AND failed_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.String(500), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))
    op.execute("UPDATE notifications SET next_attempt_at = created_at")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column(
            "next_attempt_at",
            existing_type=sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.current_timestamp(),
        )
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at", "id"],
        postgresql_where=sa.text(_DUE),
        sqlite_where=sa.text(_DUE),
    )
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("request_id")
    op.drop_index("ix_notifications_due", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        for column in ("request_id", "failed_at", "last_error", "attempts", "next_attempt_at"):
            batch.drop_column(column)
