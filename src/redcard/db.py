"""Engine and session scope.

One transaction per request: `request_session` commits when the endpoint returns and rolls back
when it raises. Services only `flush()`. Workers and CLI commands use `session_scope()`, which
rolls back unless the block finishes.

Reports and discovery read through `report_scope()`: a read-only session on the streaming
replica (`REDCARD_REPLICA_URL`) when it is up and not lagging beyond
`REDCARD_REPLICA_MAX_LAG_SECONDS`, and on the primary otherwise, so an analyst's query never
makes a till wait and a replica that stops never stops the reports.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
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


def make_engine(
    url: str, *, pool_size: int = 10, pre_ping: bool = False, **kwargs: Any
) -> AsyncEngine:
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
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pre_ping, **kwargs
    )


log = logging.getLogger(__name__)

# Replay lag in seconds; 0 when the standby has replayed everything it received, so an idle
# primary (no new commits, an old last-replayed timestamp) does not read as lag.
_REPLICA_LAG = text(
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    " THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


@dataclass
class ReplicaStatus:
    configured: bool
    usable: bool = False
    lag_seconds: float | None = None
    error: str | None = None
    checked_at: float = 0.0  # monotonic


class Database:
    """Holds the engine and session factory for one process (and the replica's, if any)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        replica_url: str | None = None,
        replica_max_lag_seconds: float = 30.0,
        replica_check_seconds: float = 5.0,
    ) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.replica_url = replica_url
        self.replica_max_lag_seconds = replica_max_lag_seconds
        self.replica_check_seconds = replica_check_seconds
        self.replica_engine = (
            make_engine(
                replica_url,
                pool_size=max(2, pool_size // 2),
                pre_ping=True,  # a stopped standby is noticed when a report starts
                connect_args={"timeout": 2},
            )
            if replica_url
            else None
        )
        self.replica_sessionmaker = (
            async_sessionmaker(self.replica_engine, expire_on_commit=False)
            if self.replica_engine is not None
            else None
        )
        self._replica = ReplicaStatus(configured=replica_url is not None)
        self.report_reads = {"replica": 0, "primary": 0}  # where report sessions went

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

    async def replica_status(self, *, refresh: bool = False) -> ReplicaStatus:
        """Whether reports may read from the replica now; re-checked every few seconds."""
        status = self._replica
        if self.replica_engine is None:
            return status
        now = time.monotonic()
        if not refresh and now - status.checked_at < self.replica_check_seconds:
            return status
        try:
            async with self.replica_engine.connect() as conn:
                in_recovery, lag = (await conn.execute(_REPLICA_LAG)).one()
            lag_seconds = float(lag or 0)
            usable = bool(in_recovery) and lag_seconds <= self.replica_max_lag_seconds
            error = None if in_recovery else "not a standby (pg_is_in_recovery() is false)"
            if in_recovery and not usable:
                error = f"lagging {lag_seconds:.1f} s behind the primary"
            self._replica = ReplicaStatus(True, usable, lag_seconds, error, now)
        except Exception as exc:  # down, refusing, or unreachable: reports use the primary
            if status.usable:
                log.warning("replica unavailable, reports read the primary: %s", exc)
            self._replica = ReplicaStatus(True, False, None, type(exc).__name__, now)
        return self._replica

    @asynccontextmanager
    async def report_scope(
        self, primary: AsyncSession | None = None
    ) -> AsyncIterator[AsyncSession]:
        """A read-only session for reports: the replica when usable, else the primary. A
        request that already has its session passes it as `primary`, so without a replica
        the report reads in the request's own transaction (no second connection, and no
        second writer queued behind the first on SQLite)."""
        session: AsyncSession | None = None
        if self.replica_sessionmaker is not None and (await self.replica_status()).usable:
            session = self.replica_sessionmaker()
            try:
                await session.connection()
            except Exception as exc:  # stopped since the last check
                await session.close()
                session = None
                self._replica = ReplicaStatus(
                    True, False, None, type(exc).__name__, time.monotonic()
                )
                log.warning("replica unavailable, reports read the primary: %s", exc)
        where = "primary" if session is None else "replica"
        self.report_reads[where] += 1
        if session is None and primary is not None:
            yield primary
            return
        async with session or self.sessionmaker() as s:
            try:
                yield s
            finally:
                await s.rollback()  # reports never write

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()
