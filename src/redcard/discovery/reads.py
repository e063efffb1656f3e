"""Where discovery reads: the replica when there is one (`Database.report_scope`), and on
SQLite a reader that does not take the write lock.

The app's SQLite connections open every transaction with BEGIN IMMEDIATE (db.py), so two
writers queue instead of failing halfway. For the nearby list that would put every anonymous
visitor in one queue with the tills (16 concurrent lists: seconds at p99, measured in
docs/performance.md). Discovery only reads, and WAL lets readers run beside a writer, so on
SQLite it reads through its own engine on the same file, without that listener: each SELECT
sees the last committed state. Its connections are pooled (unlike the writers'): a reader
holds no lock between requests, and opening a connection (a thread, a file, the pragmas) cost
more than a warm nearby query (docs/performance.md).
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from redcard.db import Database, async_url

READERS = 16  # kept open: a connection opened (and closed) beyond these costs the request

_readers: weakref.WeakKeyDictionary[Database, async_sessionmaker[AsyncSession]] = (
    weakref.WeakKeyDictionary()
)


def _sqlite_reader(db: Database) -> async_sessionmaker[AsyncSession]:
    maker = _readers.get(db)
    if maker is None:
        engine = create_async_engine(
            async_url(db.url), pool_size=READERS, max_overflow=READERS, connect_args={"timeout": 30}
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # no implicit BEGIN: reads run in autocommit
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        maker = _readers[db] = async_sessionmaker(engine, expire_on_commit=False)
    return maker


@asynccontextmanager
async def read_scope(db: Database, primary: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A session for discovery's reads (it never writes)."""
    if not db.is_sqlite:
        async with db.report_scope(primary) as session:
            yield session
        return
    async with _sqlite_reader(db)() as session:
        try:
            yield session
        finally:
            await session.rollback()


async def dispose(db: Database) -> None:
    maker = _readers.pop(db, None)
    if maker is not None:
        await maker.kw["bind"].dispose()
