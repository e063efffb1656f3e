"""Queries for 买单: stores by pay code, who may see which store's bills, the bills list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.models import (
    Merchant,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    Role,
    Store,
    StoreStaff,
    User,
)


async def get_store_by_pay_code(session: AsyncSession, pay_code: str) -> Store | None:
    if not pay_code or len(pay_code) > 32:
        return None
    return await session.scalar(select(Store).where(Store.pay_code == pay_code))


async def store_ids_for(session: AsyncSession, user: User) -> list[uuid.UUID]:
    """Stores whose bills a merchant user may see: where they are staff (store_staff), and
    every store of a merchant they own."""
    if user.role != Role.merchant_staff:
        return []
    rows = await session.scalars(
        select(Store.id)
        .outerjoin(StoreStaff, (StoreStaff.store_id == Store.id) & (StoreStaff.user_id == user.id))
        .outerjoin(Merchant, Merchant.id == Store.merchant_id)
        .where(or_(StoreStaff.user_id == user.id, Merchant.owner_id == user.id))
        .order_by(Store.name)
    )
    return list(dict.fromkeys(rows))


async def stores_for(session: AsyncSession, user: User) -> Sequence[Store]:
    ids = await store_ids_for(session, user)
    if not ids:
        return []
    return (
        await session.scalars(select(Store).where(Store.id.in_(ids)).order_by(Store.name))
    ).all()


async def may_see_bill(session: AsyncSession, user: User, redemption: Redemption) -> bool:
    if user.role == Role.operator:
        return True
    return redemption.store_id in await store_ids_for(session, user)


@dataclass(frozen=True)
class BillRow:
    redemption: Redemption
    store_name: str
    member_masked: str


async def list_bills(
    session: AsyncSession,
    store_ids: Sequence[uuid.UUID],
    *,
    since: datetime | None = None,
    limit: int = 50,
) -> list[BillRow]:
    """Paid (and undone) 买单 bills at these stores, newest first."""
    if not store_ids:
        return []
    stmt = (
        select(Redemption, Store.name, User)
        .join(Store, Store.id == Redemption.store_id)
        .join(User, User.id == Redemption.member_id)
        .where(
            Redemption.kind == RedemptionKind.pay,
            Redemption.store_id.in_(list(store_ids)),
            Redemption.status.in_([RedemptionStatus.committed, RedemptionStatus.undone]),
        )
        .order_by(Redemption.committed_at.desc(), Redemption.id.desc())
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(Redemption.committed_at >= since)
    return [BillRow(r, name, user.masked_name) for r, name, user in await session.execute(stmt)]
