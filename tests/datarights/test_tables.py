"""The declarations the export and closing read (datarights/tables.py) cover the schema: a
new table that points at a user, or a new column on users, fails here until it is declared
(one line in TABLES, or NOT_A_MEMBERS for a staff column; USER_SCRUB or USER_KEPT)."""

from __future__ import annotations

from redcard.datarights.tables import NOT_A_MEMBERS, TABLES, USER_KEPT, USER_SCRUB
from redcard.models import Base, User


def test_every_column_pointing_at_a_user_is_declared():
    declared = {part.model.__tablename__ for part in TABLES}
    undeclared = sorted(
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if any(fk.column.table.name == "users" for fk in column.foreign_keys)
        and table.name not in declared
        and (table.name, column.name) not in NOT_A_MEMBERS
    )
    assert undeclared == []


def test_every_column_of_users_is_scrubbed_or_kept_on_purpose():
    columns = {c.name for c in User.__table__.columns}
    assert columns == set(USER_SCRUB) | USER_KEPT
    assert set(USER_SCRUB).isdisjoint(USER_KEPT)


def test_exported_columns_exist_and_secrets_stay_out():
    for part in TABLES:
        for column in part.columns:
            if isinstance(column, str):
                assert hasattr(part.model, column), (part.name, column)
            assert column not in ("password_hash", "secret", "token_hash"), part.name
