"""Queries for 买单: stores by pay code, the bills list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.models import (
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    Store,
    User,
)


async def get_store_by_pay_code(session: AsyncSession, pay_code: str) -> Store | None:
    if not pay_code or len(pay_code) > 32:
        return None
    return await session.scalar(select(Store).where(Store.pay_code == pay_code))


@dataclass(frozen=True)
class BillRow:
    redemption: Redemption
    store_name: str
    member_masked: str


async def list_bills(
    session: AsyncSession,
    store_ids: Sequence[uuid.UUID] | None,
    *,
    since: datetime | None = None,
    limit: int = 50,
) -> list[BillRow]:
    """Paid (and undone) 买单 bills at these stores (None: every store), newest first."""
    if store_ids is not None and not store_ids:
        return []
    stmt = (
        select(Redemption, Store.name, User)
        .join(Store, Store.id == Redemption.store_id)
        .join(User, User.id == Redemption.member_id)
        .where(
            Redemption.kind == RedemptionKind.pay,
            Redemption.status.in_([RedemptionStatus.committed, RedemptionStatus.undone]),
        )
        .order_by(Redemption.committed_at.desc(), Redemption.id.desc())
        .limit(limit)
    )
    if store_ids is not None:
        stmt = stmt.where(Redemption.store_id.in_(list(store_ids)))
    if since is not None:
        stmt = stmt.where(Redemption.committed_at >= since)
    return [BillRow(r, name, user.masked_name) for r, name, user in await session.execute(stmt)]
