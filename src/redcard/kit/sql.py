"""Small dialect bridges for the two databases we run on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Result,
    Table,
    any_,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Executor = AsyncSession | AsyncConnection  # what the batch helpers below can run on


def dialect_name(db: Executor) -> str:
    if isinstance(db, AsyncConnection):
        return db.dialect.name
    return db.get_bind().dialect.name


def insert_ignore(
    db: Executor | str, model: Any, conflict_columns: Sequence[str] | None = None
) -> Insert:
    """INSERT ... ON CONFLICT (cols) DO NOTHING in the dialect of `db`: a session, a connection,
    or a dialect name ("postgresql", "sqlite") for statements built once at import. Without
    `conflict_columns`, a conflict on any unique constraint is ignored."""
    name = db if isinstance(db, str) else dialect_name(db)
    dialect: Any = postgresql if name == "postgresql" else sqlite
    return dialect.insert(model).on_conflict_do_nothing(index_elements=conflict_columns)


async def core_rows(session: AsyncSession, stmt: Any) -> Sequence[Any]:
    """All rows of a statement run on the session's connection: plain rows, without the ORM's
    per-row result processing that `session.execute` adds (it shows on batches of thousands).
    Same transaction as the session; no objects are loaded or refreshed."""
    return (await (await session.connection()).execute(stmt)).all()


def rowcount(result: Result[Any]) -> int:
    """Rows touched by an INSERT/UPDATE/DELETE."""
    return int(getattr(result, "rowcount", 0) or 0)


async def analyze(session: AsyncSession, *tables: Table) -> None:
    """Refresh the planner's statistics of tables a bulk write has just changed, inside the
    writing transaction (PostgreSQL counts its own uncommitted rows). Without it, a claim
    right after a million-row insert is planned for the table as it was before: read every
    due row and sort them, at every claim. SQLite: nothing to do."""
    if dialect_name(session) == "postgresql":
        await session.execute(text("ANALYZE " + ", ".join(t.name for t in tables)))


def for_update_kwargs(session: AsyncSession, *, skip_locked: bool = False) -> dict[str, Any]:
    """SQLite has no row locks (its BEGIN IMMEDIATE serialises writers); PostgreSQL gets them."""
    if dialect_name(session) == "sqlite":
        return {}
    return {"skip_locked": skip_locked}


# -- set-based statements for batch paths (the ledger's and the refund worker's) -------------
# On PostgreSQL a batch is ONE statement whose parameters are one array per column
# (INSERT ... SELECT FROM unnest, UPDATE ... FROM unnest), instead of one execution per row.
# SQLite runs the same change as an executemany (it is in-process: per-row calls are cheap).
def _pg_array_type(table: Table, column: str) -> str:
    return f"{table.c[column].type.compile(dialect=postgresql.dialect())}[]"


def _unnest(table: Table, columns: Sequence[str]) -> str:
    arrays = ", ".join(f"CAST(:{c} AS {_pg_array_type(table, c)})" for c in columns)
    return f"unnest({arrays})"


def _arrays(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    return {c: [row[c] for row in rows] for c in columns}


async def insert_rows(session: Executor, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT rows (all with the same keys, values already bound-ready: tz-aware datetimes,
    UUIDs, enum values) in one statement on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    if dialect_name(session) != "postgresql":
        await session.execute(insert(table), [dict(r) for r in rows])
        return
    columns = list(rows[0])
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM {_unnest(table, columns)}"
    await session.execute(text(sql), _arrays(columns, rows))


async def update_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], key: str = "id"
) -> None:
    """UPDATE many rows by `key`, each to its own values (rows with the same keys), in one
    UPDATE ... FROM unnest on PostgreSQL, executemany elsewhere. Callers lock the rows first
    where the order of locks matters."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    if dialect_name(session) != "postgresql":
        stmt = (
            update(table)
            .where(table.c[key] == bindparam(f"v_{key}"))
            .values({c: bindparam(f"v_{c}") for c in columns})
        )
        await session.execute(stmt, [{f"v_{k}": v for k, v in r.items()} for r in rows])
        return
    names = [key, *columns]
    sets = ", ".join(f"{c} = v.{c}" for c in columns)
    # the ANY condition lets the planner find the rows by index: joined to unnest alone, it
    # hashes a sequential scan of the whole table once the table is large
    sql = (
        f"UPDATE {table.name} SET {sets} FROM {_unnest(table, names)} AS v({', '.join(names)}) "
        f"WHERE {table.name}.{key} = v.{key} "
        f"AND {table.name}.{key} = ANY(CAST(:{key} AS {_pg_array_type(table, key)}))"
    )
    await session.execute(text(sql), _arrays(names, rows))


async def add_to_rows(
    session: AsyncSession,
    table: Table,
    column: str,
    deltas: Mapping[Any, int],
    returning: Sequence[str],
    key: str = "id",
) -> list[Any]:
    """`column += delta` for each row by `key`, without reading the rows first, and the rows'
    `returning` columns after the change. Rows are changed (so locked) in key order. One
    UPDATE ... FROM unnest ... RETURNING on PostgreSQL; an executemany and a read elsewhere."""
    if not deltas:
        return []
    keys = sorted(deltas)
    out = ", ".join(f"{table.name}.{c}" for c in returning)
    if dialect_name(session) != "postgresql":
        await session.execute(
            update(table)
            .where(table.c[key] == bindparam("v_key"))
            .values({column: table.c[column] + bindparam("v_delta")}),
            [{"v_key": k, "v_delta": deltas[k]} for k in keys],
        )
        return list(
            await session.execute(
                select(*(table.c[c] for c in returning)).where(table.c[key].in_(keys))
            )
        )
    array = _pg_array_type(table, key)
    sql = (
        f"UPDATE {table.name} SET {column} = {table.name}.{column} + v.delta "
        f"FROM unnest(CAST(:keys AS {array}), CAST(:deltas AS BIGINT[])) AS v(k, delta) "
        f"WHERE {table.name}.{key} = v.k AND {table.name}.{key} = ANY(CAST(:keys AS {array})) "
        f"RETURNING {out}"
    )
    return list(
        await session.execute(text(sql), {"keys": keys, "deltas": [deltas[k] for k in keys]})
    )


def one_of(session: Executor, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN (values)`: one array parameter on PostgreSQL (`= ANY(:values)`, no limit on
    the number of values), an IN list elsewhere."""
    if dialect_name(session) == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))
