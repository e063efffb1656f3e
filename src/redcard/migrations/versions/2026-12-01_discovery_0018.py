"""discovery: store reviews tied to purchases, in-person inspections, the 精选 badge's
decisions, store photos; on stores: opening hours' zone, description, H3 cells at two
resolutions (the spatial index, on both databases: docs/architecture.md) and the curation
figures the nearby query ranks by.

The cells of existing stores are computed here with `redcard.kit.geo.cell_of`, the function
the model's column default calls for every new store.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from redcard.kit.geo import cell_of

FINE, COARSE = 7, 5  # the resolutions of this revision (kit/geo.py may move on)

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_inspections",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("inspector", sa.String(length=64), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_store_inspections_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_inspections_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_inspections")),
    )
    with op.batch_alter_table("store_inspections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_store_inspections_store_on", ["store_id", "inspected_on"], unique=False
        )

    op.create_table(
        "store_photos",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_store_photos_position")),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_store_photos_size_bytes")),
        sa.CheckConstraint("width > 0 AND height > 0", name=op.f("ck_store_photos_size")),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_photos_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_store_photos_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_photos")),
        sa.UniqueConstraint("store_id", "position", name=op.f("uq_store_photos_store_id_position")),
    )
    op.create_table(
        "curation_decisions",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column(
            "action",
            sa.Enum("granted", "removed", name="badgeaction", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("review_count", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_curation_decisions_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["store_inspections.id"],
            name=op.f("fk_curation_decisions_inspection_id_store_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_curation_decisions_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curation_decisions")),
    )
    with op.batch_alter_table("curation_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_curation_decisions_store_created_at", ["store_id", "created_at"], unique=False
        )

    op.create_table(
        "store_reviews",
        sa.Column("store_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_reason", sa.String(length=500), nullable=True),
        sa.Column("hidden_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(hidden_at IS NULL) = (hidden_reason IS NULL)",
            name=op.f("ck_store_reviews_hidden_with_reason"),
        ),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_store_reviews_stars")),
        sa.ForeignKeyConstraint(
            ["hidden_by"], ["users.id"], name=op.f("fk_store_reviews_hidden_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["users.id"], name=op.f("fk_store_reviews_member_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_store_reviews_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_store_reviews_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_reviews_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_reviews")),
        sa.UniqueConstraint("redemption_id", name=op.f("uq_store_reviews_redemption_id")),
    )
    with op.batch_alter_table("store_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_reviews_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "ix_store_reviews_store_created_at", ["store_id", "created_at"], unique=False
        )

    with op.batch_alter_table("stores") as batch:
        batch.add_column(
            sa.Column("hours_generated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("photos_version", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("cell_fine", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("cell_coarse", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("rating_avg", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("review_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("last_review_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("inspected_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("curated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("curated_at", sa.DateTime(timezone=True), nullable=True))
    # every existing store gets its cells (the same function the model's default calls)
    bind = op.get_bind()
    stores = sa.table(
        "stores",
        sa.column("id", sa.Uuid()),
        sa.column("lat", sa.Float()),
        sa.column("lng", sa.Float()),
        sa.column("cell_fine", sa.BigInteger()),
        sa.column("cell_coarse", sa.BigInteger()),
    )
    rows = bind.execute(sa.select(stores.c.id, stores.c.lat, stores.c.lng)).all()
    for start in range(0, len(rows), 1000):
        bind.execute(
            stores.update()
            .where(stores.c.id == sa.bindparam("b_id"))
            .values(cell_fine=sa.bindparam("b_fine"), cell_coarse=sa.bindparam("b_coarse")),
            [
                {
                    "b_id": id_,
                    "b_fine": cell_of(lat, lng, FINE),
                    "b_coarse": cell_of(lat, lng, COARSE),
                }
                for id_, lat, lng in rows[start : start + 1000]
            ],
        )
    with op.batch_alter_table("stores") as batch:
        batch.alter_column("cell_fine", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("cell_coarse", existing_type=sa.BigInteger(), nullable=False)
        batch.create_check_constraint("review_count", "review_count >= 0")
        batch.create_check_constraint(
            "rating_range", "rating_avg IS NULL OR rating_avg BETWEEN 1 AND 5"
        )
        batch.create_index("ix_stores_cell_coarse_status", ["cell_coarse", "status"])
        batch.create_index("ix_stores_cell_fine_status", ["cell_fine", "status"])
        batch.create_index(batch.f("ix_stores_curated"), ["curated"])


def downgrade() -> None:
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stores_curated"))
        batch_op.drop_index("ix_stores_cell_fine_status")
        batch_op.drop_index("ix_stores_cell_coarse_status")
        batch_op.drop_constraint("rating_range", type_="check")
        batch_op.drop_constraint("review_count", type_="check")
        batch_op.drop_column("curated_at")
        batch_op.drop_column("curated")
        batch_op.drop_column("inspected_on")
        batch_op.drop_column("last_review_at")
        batch_op.drop_column("score")
        batch_op.drop_column("review_count")
        batch_op.drop_column("rating_avg")
        batch_op.drop_column("cell_coarse")
        batch_op.drop_column("cell_fine")
        batch_op.drop_column("photos_version")
        batch_op.drop_column("description")
        batch_op.drop_column("timezone")
        batch_op.drop_column("hours_generated")

    with op.batch_alter_table("store_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_store_reviews_store_created_at")
        batch_op.drop_index(batch_op.f("ix_store_reviews_member_id"))

    op.drop_table("store_reviews")
    with op.batch_alter_table("curation_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_curation_decisions_store_created_at")

    op.drop_table("curation_decisions")
    op.drop_table("store_photos")
    with op.batch_alter_table("store_inspections", schema=None) as batch_op:
        batch_op.drop_index("ix_store_inspections_store_on")

    op.drop_table("store_inspections")
