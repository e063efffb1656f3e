"""delivery: per-sink deliveries, the in-app inbox, e-mail and reminder preferences (issue 16).

Each notification is dispatched to the sinks it goes to (notification_deliveries: one row per
notification and sink, retried and failed on its own). Notifications gain the dispatch time,
the inbox's delivered/read times and a dedupe key (a reminder once per member and period);
the worker's claim moves from ix_notifications_due to ix_notifications_to_dispatch. Members
gain an e-mail address and a marketing-messages preference. Messages already sent before this
migration count as dispatched and appear in the member's inbox.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_DUE = "sent_at IS NULL AND failed_at IS NULL"
_TO_DISPATCH = "dispatched_at IS NULL"
_QUEUED = "status = 'queued'"
_UNREAD = "inbox_at IS NOT NULL AND read_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(
            sa.Column("marketing_messages", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.drop_index("ix_notifications_due", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("inbox_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("dedupe_key", sa.String(120), nullable=True))
        batch.create_unique_constraint("uq_notifications_dedupe_key", ["dedupe_key"])
    op.execute(
        "UPDATE notifications SET dispatched_at = COALESCE(sent_at, failed_at), inbox_at = sent_at "
        "WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL"
    )
    op.create_index(
        "ix_notifications_to_dispatch",
        "notifications",
        ["next_attempt_at", "id"],
        postgresql_where=sa.text(_TO_DISPATCH),
        sqlite_where=sa.text(_TO_DISPATCH),
    )
    op.create_index("ix_notifications_inbox", "notifications", ["user_id", "inbox_at"])
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["user_id"],
        postgresql_where=sa.text(_UNREAD),
        sqlite_where=sa.text(_UNREAD),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("sink", sa.String(16), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued", "sent", "failed", name="deliverystatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_deliveries_notification_id_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_deliveries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "notification_id",
            "sink",
            name=op.f("uq_notification_deliveries_notification_id_sink"),
        ),
    )
    op.create_index(
        "ix_notification_deliveries_due",
        "notification_deliveries",
        ["sink", "next_attempt_at", "id"],
        postgresql_where=sa.text(_QUEUED),
        sqlite_where=sa.text(_QUEUED),
    )
    op.create_index(
        op.f("ix_notification_deliveries_user_id"), "notification_deliveries", ["user_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_deliveries_user_id"), table_name="notification_deliveries")
    op.drop_index("ix_notification_deliveries_due", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_index("ix_notifications_unread", table_name="notifications")
    op.drop_index("ix_notifications_inbox", table_name="notifications")
    op.drop_index("ix_notifications_to_dispatch", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("uq_notifications_dedupe_key", type_="unique")
        for column in ("dedupe_key", "read_at", "inbox_at", "dispatched_at"):
            batch.drop_column(column)
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at", "id"],
        postgresql_where=sa.text(_OLD_DUE),
        sqlite_where=sa.text(_OLD_DUE),
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("marketing_messages")
        batch.drop_column("email")
