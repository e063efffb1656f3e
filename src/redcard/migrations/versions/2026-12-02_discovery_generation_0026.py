"""discovery: a generation row that every change discovery could show moves

Each app process keeps the visible stores it has been asked about, per H3 cell, in memory
(discovery/snapshot.py). It may use them only while nothing they hold has changed: every
nearby query reads `discovery_generation.version`, and triggers set it to a new random
number whenever a statement inserts, deletes or updates a column of `stores` that discovery
reads or shows, or changes a merchant's status (which decides whether its stores are shown).
Updates of other columns (the till's `redemptions_count`, the curation worker's
`curation_due_on`) leave it alone, so the hot paths do not meet on this row.

The version is random, not a counter, so a value is never seen twice: not after a rolled-back
change, and not in a database rebuilt from scratch. `changes` counts the bumps, for people.
On PostgreSQL the triggers are statement-level BEFORE triggers: a writer takes this row's lock
before any store row of its statement, one order for everyone, so writers cannot deadlock
on it. SQLite has row-level triggers only; its writers are serialised anyway.

A later migration that rebuilds `stores` or `merchants` on SQLite (batch_alter_table) drops
their triggers: tests/discovery/test_snapshot.py checks every watched column on both
databases.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STORE_COLUMNS = (
    "id, merchant_id, name, category, district, address, lat, lng, opening_hours, timezone, "
    "photos_version, cell_fine, cell_coarse, rating_avg, review_count, score, last_review_at, "
    "inspected_on, curated, status, discount_bp, discount_cap_fen, min_bill_fen"
)
PG_NEW_VERSION = "floor(random() * 9007199254740991)::bigint"


def upgrade() -> None:
    op.create_table(
        "discovery_generation",
        sa.Column("id", sa.SmallInteger(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.CheckConstraint("id = 1", name="ck_discovery_generation_one_row"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"INSERT INTO discovery_generation (id, version) VALUES (1, {PG_NEW_VERSION})")
        op.execute(
            "CREATE FUNCTION discovery_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN UPDATE discovery_generation SET version = {PG_NEW_VERSION}, "
            "changes = changes + 1; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER discovery_stores BEFORE INSERT OR DELETE OR TRUNCATE "
            f"OR UPDATE OF {STORE_COLUMNS} ON stores "
            "FOR EACH STATEMENT EXECUTE FUNCTION discovery_changed()"
        )
        op.execute(
            "CREATE TRIGGER discovery_merchants BEFORE DELETE OR TRUNCATE OR UPDATE OF status "
            "ON merchants FOR EACH STATEMENT EXECUTE FUNCTION discovery_changed()"
        )
        return
    op.execute("INSERT INTO discovery_generation (id, version) VALUES (1, random())")
    bump = "UPDATE discovery_generation SET version = random(), changes = changes + 1;"
    for name, event in (
        ("discovery_stores_insert", "INSERT ON stores"),
        ("discovery_stores_delete", "DELETE ON stores"),
        ("discovery_stores_update", f"UPDATE OF {STORE_COLUMNS} ON stores"),
        ("discovery_merchants_delete", "DELETE ON merchants"),
        ("discovery_merchants_update", "UPDATE OF status ON merchants"),
    ):
        op.execute(f"CREATE TRIGGER {name} AFTER {event} BEGIN {bump} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER discovery_stores ON stores")
        op.execute("DROP TRIGGER discovery_merchants ON merchants")
        op.execute("DROP FUNCTION discovery_changed()")
    else:
        for name in (
            "discovery_stores_insert",
            "discovery_stores_delete",
            "discovery_stores_update",
            "discovery_merchants_delete",
            "discovery_merchants_update",
        ):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("discovery_generation")
