"""Run a batch's rows one by one, each in a savepoint, so that one bad row is set aside
instead of rolling back (or stopping) the batch. Used by worker steps whose fast path handles a
whole batch at once and falls back to this when the batch raises."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row")


async def each_in_savepoint(
    session: AsyncSession,
    rows: Iterable[Row],
    handle: Callable[[Row], Awaitable[object]],
    set_aside: Callable[[Row, Exception], Awaitable[None]],
) -> int:
    """`handle` each row in its own savepoint; a row that raises is rolled back alone and
    given to `set_aside` (which records why, outside the failed savepoint). Returns how many
    rows were handled."""
    done = 0
    for row in rows:
        try:
            async with session.begin_nested():
                await handle(row)
            done += 1
        except Exception as exc:  # this row only; the batch goes on
            await set_aside(row, exc)
    return done
