"""Background settlement: the worker's step and the CLI's `redcard settle`."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from redcard.db import Database
from redcard.models import Statement
from redcard.settlement import service


async def settle_step(session: AsyncSession) -> int:
    """Worker step: statements for every finished day whose undo window has closed."""
    return await service.settle_due(session)


async def settle_cli(db: Database, day: date) -> list[Statement]:
    async with db.session_scope() as session:
        return await service.settle_day(session, day)
