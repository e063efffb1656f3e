"""Whether the programme is selling. Approval of a sunset turns this off (sunset/service.py).

The switch is one row (`program_state`, id 1). Purchases and activations read it FOR SHARE;
approval updates it under its row lock. So on PostgreSQL an activation either commits before
the approval (and is in the campaign) or waits for it and then sees sales closed (and is
refunded). SQLite serialises every writer, which gives the same order. A missing row (a fresh
test database) reads as open.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.sql import dialect_name, insert_ignore
from redcard.kit.time import utc_now
from redcard.models import ProgramState, SunsetCampaign

STATE_ID = 1


async def sales_open(session: AsyncSession) -> bool:
    stmt = select(ProgramState.sales_open).where(ProgramState.id == STATE_ID)
    if dialect_name(session) == "postgresql":
        stmt = stmt.with_for_update(read=True)
    value = await session.scalar(stmt)
    return True if value is None else bool(value)


@dataclass(frozen=True)
class Sales:
    """What a would-be buyer is told: open, or closed since when and by which sunset."""

    open: bool
    closed_at: datetime | None = None
    campaign: SunsetCampaign | None = None


async def sales(session: AsyncSession) -> Sales:
    """Whether cards are on sale, for listing (no lock: a purchase re-checks `sales_open`)."""
    state = await session.get(ProgramState, STATE_ID)
    if state is None or state.sales_open:
        return Sales(open=True)
    campaign = await session.get(SunsetCampaign, state.campaign_id) if state.campaign_id else None
    return Sales(open=False, closed_at=state.updated_at, campaign=campaign)


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
