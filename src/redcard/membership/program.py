"""Whether the programme is selling. The sunset issue turns this off at approval."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


async def sales_open(session: AsyncSession) -> bool:
    return True
