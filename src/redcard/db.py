"""Engine and session scope.

One transaction per request: `request_session` commits when the endpoint returns and rolls back
when it raises. Services only `flush()`. Workers and CLI commands use `session_scope()`, which
rolls back unless the block finishes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as SyncSession
from sqlalchemy.pool import NullPool


@event.listens_for(SyncSession, "do_orm_execute")
def _locked_reads_are_fresh(state: ORMExecuteState) -> None:
    """A row read FOR UPDATE must reflect the row as locked, not the copy already in the
    session: without this, an object loaded before the lock keeps its stale attributes (e.g.
    a payment still "pending" after a concurrent request confirmed it while we waited)."""
    if state.is_select and getattr(state.statement, "_for_update_arg", None) is not None:
        state.update_execution_options(populate_existing=True)


def async_url(url: str) -> str:
    """Map a plain URL to its async driver: postgresql -> asyncpg, sqlite -> aiosqlite."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def sync_url(url: str) -> str:
    """The same database through a sync driver (pgbench comparisons, Alembic offline)."""
    if url.startswith(("postgresql+asyncpg://", "postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite://" + url.split("://", 1)[1]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    url = async_url(url)
    if is_sqlite(url):
        engine = create_async_engine(
            url, poolclass=NullPool, connect_args={"timeout": 30}, **kwargs
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own BEGIN handling defers locks; we issue BEGIN IMMEDIATE ourselves
            # so that two writers queue on the busy timeout instead of failing mid-transaction.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False, **kwargs
    )


class Database:
    """Holds the engine and session factory for one process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def session_scope(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits if the block completes, rolls back otherwise."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()
