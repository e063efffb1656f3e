"""event images: the organiser's picture, resized, stored beside the event; events.image_version
names the current one (its URL's ?v=), so a list shows pictures without another query

The bytes live in the database rather than in a directory: every app process serves them
and a backup of the database holds them, with nothing else to share or back up. They are
small (resized to at most 1200 px, about 100-300 KB as JPEG).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_images",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("width > 0 AND height > 0", name=op.f("ck_event_images_size")),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_event_images_size_bytes")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_images_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_event_images_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_event_images")),
    )
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("image_version", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("image_version")
    op.drop_table("event_images")
