"""The request's own asyncpg connection, for the till's hot statements.

A statement through SQLAlchemy's execution layer costs this app about 0.25 ms of CPU; the
same statement on the asyncpg connection underneath costs about 0.1 ms (docs/performance.md).
The till's prepare and commit run their few statements here on PostgreSQL; SQLite (and any
other driver) keeps the SQLAlchemy path, so `connection()` returns None there. `HotStatement`
holds both paths of one statement and picks one per call, so callers never fork on the driver.

One transaction per request still holds. SQLAlchemy's asyncpg adapter begins its transaction
lazily, on the first statement it runs itself. `connection()` begins it first when it has not
begun yet (with the adapter's own method, so the adapter knows about it), so a raw statement
always runs inside the session's transaction, and the request scope's commit or rollback
covers it. That method is private to SQLAlchemy: if the adapter no longer has it, this
returns None and `HotStatement` takes the SQLAlchemy path (tests/redemption check the fast
path is taken and that a rolled-back request leaves nothing behind).

A constraint violation is raised as SQLAlchemy's IntegrityError (a 409), as on the Core path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy import exc
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement, Executable

from redcard.kit.sql import rowcount

_KEY = "redcard.rawpg"


async def connection(session: AsyncSession) -> Any | None:
    """The asyncpg connection of `session`'s transaction, begun; None when not on asyncpg.

    Cached per (root) session transaction, so each request pays for the lookup once."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    conn = await session.connection()
    raw: Any = None
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "asyncpg":
        adapted: Any = conn.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
        start = getattr(adapted, "_start_transaction", None)
        if start is not None and hasattr(adapted, "_transaction"):
            if adapted._transaction is None and not adapted.autocommit:
                async with adapted._execute_mutex:
                    await start()
            if adapted._transaction is not None:
                raw = adapted.driver_connection
    session.info[_KEY] = (session.sync_session.get_transaction(), raw)
    return raw


class Statement:
    """A Core statement compiled once for asyncpg: the very SQL SQLAlchemy would send, with its
    bind parameters in order. `args(params)` maps named parameters to positional ones; the
    statement's own literals (`status = 'prepared'`) keep the values they were built with.

    Values go to asyncpg as they are, without SQLAlchemy's bind processing: give tz-aware
    datetimes, UUIDs, ints and strings (a StrEnum is a str). Rows come back as asyncpg
    Records (`row["name"]`), timestamps tz-aware UTC, enum columns as plain strings."""

    __slots__ = ("sql", "names", "literals")

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        dialect = asyncpg_dialect()
        compiled: Any = statement.compile(
            dialect=dialect,
            column_keys=list(column_keys) if column_keys is not None else None,
        )
        if compiled.positiontup is None:  # pragma: no cover - asyncpg is a positional dialect
            raise TypeError("expected positional parameters")
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup)
        self.literals = {}
        for name in self.names:
            bind = compiled.binds[name]
            if not bind.required:  # a value the statement was built with: processed once
                process = bind.type._cached_bind_processor(dialect)
                value = bind.effective_value
                self.literals[name] = process(value) if process else value

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        literals = self.literals
        return [params[n] if n in params else literals[n] for n in self.names]


async def fetch(conn: Any, sql: str, *args: Any) -> list[Any]:
    """Rows of one statement (asyncpg prepares it once per connection and caches it). A
    constraint violation is raised as SQLAlchemy's IntegrityError, as on the Core path."""
    try:
        rows: list[Any] = await conn.fetch(sql, *args)
    except asyncpg.IntegrityConstraintViolationError as error:
        raise exc.IntegrityError(sql, args, error) from error
    return rows


async def execute(conn: Any, sql: str, *args: Any) -> int:
    """Run one statement; the number of rows it wrote (see `fetch`)."""
    try:
        status: str = await conn.execute(sql, *args)
    except asyncpg.IntegrityConstraintViolationError as error:
        raise exc.IntegrityError(sql, args, error) from error
    return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0


async def fetchrow(conn: Any, sql: str, *args: Any) -> Any | None:
    """The first row of one statement, or None (see `fetch`)."""
    try:
        return await conn.fetchrow(sql, *args)
    except asyncpg.IntegrityConstraintViolationError as error:
        raise exc.IntegrityError(sql, args, error) from error


class HotStatement:
    """One hot statement and its two paths, chosen per call: on asyncpg, compiled once
    (`Statement`) and run on the request's own connection; on any other driver (or if the
    adapter's internals change), the SQLAlchemy Core statement on the session's connection.
    Same parameters (by name) and same rows (`row["name"]`) either way.

    `core`: the Core statement, or a function of the dialect name that builds it (a dialect's
    own INSERT ... ON CONFLICT), called once per dialect. `pg`: what asyncpg runs, when it is
    not the Core statement for "postgresql" (e.g. `= ANY($1)` instead of an expanding IN)."""

    __slots__ = ("_build", "_built", "_pg")

    def __init__(
        self,
        core: Executable | Callable[[str], Executable],
        pg: ClauseElement | None = None,
        column_keys: Sequence[str] | None = None,
    ) -> None:
        if isinstance(core, ClauseElement):
            statement = core
            self._build: Callable[[str], Executable] = lambda _dialect: statement
        else:
            self._build = cast(Callable[[str], Executable], core)
        self._built: dict[str, Executable] = {}
        self._pg = Statement(pg if pg is not None else self._core("postgresql"), column_keys)

    def _core(self, dialect: str) -> Any:
        built = self._built.get(dialect)
        if built is None:
            built = self._built[dialect] = self._build(dialect)
        return built

    async def _route(self, session: AsyncSession) -> tuple[Any, AsyncConnection | None]:
        raw = await connection(session)
        return (raw, None) if raw is not None else (None, await session.connection())

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> Sequence[Any]:
        """All rows."""
        raw, conn = await self._route(session)
        if conn is None:
            return await fetch(raw, self._pg.sql, *self._pg.args(params))
        stmt = self._core(conn.dialect.name)
        return (await conn.execute(stmt, params)).mappings().all()

    async def fetchrow(self, session: AsyncSession, params: Mapping[str, Any]) -> Any | None:
        """The first row, or None."""
        raw, conn = await self._route(session)
        if conn is None:
            return await fetchrow(raw, self._pg.sql, *self._pg.args(params))
        stmt = self._core(conn.dialect.name)
        return (await conn.execute(stmt, params)).mappings().first()

    async def execute(self, session: AsyncSession, params: Mapping[str, Any]) -> int:
        """Run it; the number of rows it wrote."""
        raw, conn = await self._route(session)
        if conn is None:
            return await execute(raw, self._pg.sql, *self._pg.args(params))
        return rowcount(await conn.execute(self._core(conn.dialect.name), params))
