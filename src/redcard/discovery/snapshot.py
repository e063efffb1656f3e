"""The stores near a point, from memory while nothing has changed.

A dense 3 km circle in central Shanghai holds thousands of stores, and fetching their rows
for every nearby query was most of its cost (docs/performance.md). So each process keeps
the visible stores it has been asked about, per H3 cell, as ranking blocks (ranking.Block:
arrays the blend reads, and the rows a result shows), and uses them only while the
database's `discovery_generation.version` is the one they were read at. Database triggers
give that row a new random version whenever a statement touches anything discovery reads
or shows (migration 0026), so the snapshot is exact, not "fresh enough": a paused store
disappears from the very next query, in every process.

1. Read the version. Different from the snapshot's: forget every block.
2. Cells the query needs that the snapshot lacks: one SELECT for all of them.
3. Read the version again. Unchanged: nothing was committed in between, so the new rows
   belong with the old blocks; keep them. Changed: try again; after that, read every cell
   of this query in one statement and keep nothing.

A write costs the next queries a fill of the cells they touch, which is what every query
cost before. Blocks are kept per engine (the replica has its own) and per resolution.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from redcard.discovery.ranking import Block
from redcard.kit.geo import FINE
from redcard.models import Store

ATTEMPTS = 2  # fills tried against a moving version before one uncached read


@dataclass(slots=True)
class _Cache:
    version: int | None = None
    blocks: dict[tuple[int, int], Block] = field(default_factory=dict)


_caches: weakref.WeakKeyDictionary[Engine, _Cache] = weakref.WeakKeyDictionary()


async def version(conn: AsyncConnection) -> int | None:
    """The generation's version as this connection sees it now; None without the row."""
    result = await conn.exec_driver_sql("SELECT version FROM discovery_generation WHERE id = 1")
    value = result.scalar()
    return None if value is None else int(value)


async def fetch_plain(session: AsyncSession, stmt: Select[Any]) -> Sequence[Sequence[Any]]:
    """The statement's rows as the driver gave them (asyncpg records, sqlite3 tuples), not as
    SQLAlchemy row objects: a dense 3 km circle holds thousands of stores and the row objects
    cost more than the rows (docs/performance.md). The statement is still compiled (and
    cached) by SQLAlchemy and runs in the session's connection and transaction."""
    conn = await session.connection()
    result = await conn.execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


async def blocks_for(
    session: AsyncSession,
    resolution: int,
    cells: Sequence[int],
    rows_of: Select[Any],
) -> Block:
    """The stores of `cells` (at `resolution`) as one block. `rows_of` selects the
    snapshot's columns for the visible stores; the cell column is added here."""
    column = Store.cell_fine if resolution == FINE else Store.cell_coarse
    conn = await session.connection()
    cache = _caches.get(conn.sync_engine)
    if cache is None:
        cache = _caches[conn.sync_engine] = _Cache()
    for _ in range(ATTEMPTS):
        seen = await version(conn)
        if seen is None:
            break
        if cache.version != seen:
            cache.blocks.clear()
            cache.version = seen
        missing = [c for c in cells if (resolution, c) not in cache.blocks]
        fresh: dict[int, list[Sequence[Any]]] = {c: [] for c in missing}
        if missing:
            fill = rows_of.add_columns(column).where(column.in_(missing))
            for row in await fetch_plain(session, fill):
                fresh[row[-1]].append(row)
            if await version(conn) != seen:
                continue  # a change committed during the fill: its rows may be newer
        filled = {c: Block.of(rows) for c, rows in fresh.items()}
        if cache.version == seen:  # not reset by another query meanwhile
            cache.blocks.update(((resolution, c), b) for c, b in filled.items())
        return Block.join(
            [filled[c] if c in filled else cache.blocks[(resolution, c)] for c in cells]
        )
    return Block.of(await fetch_plain(session, rows_of.where(column.in_(cells))))


def forget() -> None:
    """Drop this process's blocks (benchmarks measuring a cold start)."""
    _caches.clear()
