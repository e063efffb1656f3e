"""Whether the programme is selling. Approval of a sunset turns this off (sunset/service.py).

The switch is one row (`program_state`, id 1). Purchases and activations read it FOR SHARE;
approval updates it under its row lock. So on PostgreSQL an activation either commits before
the approval (and is in the campaign) or waits for it and then sees sales closed (and is
refunded). SQLite serialises every writer, which gives the same order. A missing row (a fresh
test database) reads as open.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.sql import dialect_name, insert_ignore
from redcard.kit.time import utc_now
from redcard.models import ProgramState

STATE_ID = 1


async def sales_open(session: AsyncSession) -> bool:
    stmt = select(ProgramState.sales_open).where(ProgramState.id == STATE_ID)
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update(read=True)
    value = await session.scalar(stmt)
    return True if value is None else bool(value)


async def close_sales(session: AsyncSession, campaign_id: uuid.UUID) -> None:
    """Stop selling at once (within the caller's transaction)."""
    await session.execute(
        insert_ignore(session, ProgramState, ["id"]).values(id=STATE_ID, sales_open=True)
    )
    await session.execute(
        update(ProgramState)
        .where(ProgramState.id == STATE_ID)
        .values(sales_open=False, campaign_id=campaign_id, updated_at=utc_now())
    )
