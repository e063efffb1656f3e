from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from redcard.kit.sql import insert_ignore
from redcard.models import LedgerAccount


def test_insert_ignore_takes_a_dialect_name_for_statements_built_once():
    for name, dialect in (("postgresql", postgresql.dialect()), ("sqlite", sqlite.dialect())):
        keyed = str(
            insert_ignore(name, LedgerAccount, ["code", "owner_key"]).compile(dialect=dialect)
        )
        assert keyed.endswith("ON CONFLICT (code, owner_key) DO NOTHING"), keyed
        anything = str(insert_ignore(name, LedgerAccount).compile(dialect=dialect))
        assert anything.endswith("ON CONFLICT DO NOTHING"), anything
