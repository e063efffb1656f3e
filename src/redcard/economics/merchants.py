"""Merchant value across the programme for a period (the operator's view; one merchant's own
weekly view is economics/merchant.py): per merchant, card holders' visits, holders, repeat
holders, bills, the discount given, and the fees and net of its 买单 statements; and how
concentrated redemptions are (the share at the busiest tenth of the live stores).

Same rules as docs/economics.md: a visit is a committed redemption not undone since; a
holder is the card's holder (a companion's visit counts for the primary). Reads only.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.time import business_day
from redcard.models import (
    Membership,
    Merchant,
    Redemption,
    RedemptionStatus,
    Statement,
    Store,
    StoreStatus,
)


@dataclass(frozen=True, slots=True)
class MerchantRow:
    merchant_id: uuid.UUID
    name: str
    visits: int
    holders: int
    repeat_holders: int  # two visits or more in the period
    bills_fen: int
    discount_fen: int
    fees_fen: int
    net_fen: int

    @property
    def repeat_percent(self) -> int:
        return self.repeat_holders * 100 // self.holders if self.holders else 0


@dataclass(frozen=True, slots=True)
class Concentration:
    live_stores: int
    top_stores: int  # the busiest tenth of the live stores, rounded up
    redemptions: int
    at_top: int

    @property
    def percent(self) -> int:
        return self.at_top * 100 // self.redemptions if self.redemptions else 0


def _in_period(start: datetime, end: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Redemption.status == RedemptionStatus.committed,
        Redemption.committed_at >= start,
        Redemption.committed_at < end,
    )


async def merchant_table(
    session: AsyncSession, start: datetime, end: datetime
) -> list[MerchantRow]:
    """Every merchant with a visit or a statement in [start, end), the largest bills first."""
    visits = {
        m: (int(n), int(h), int(b or 0), int(d or 0))
        for m, n, h, b, d in await session.execute(
            select(
                Redemption.merchant_id,
                func.count(),
                func.count(func.distinct(Membership.member_id)),
                func.sum(Redemption.bill_fen),
                func.sum(Redemption.discount_fen),
            )
            .join(Membership, Membership.id == Redemption.membership_id)
            .where(*_in_period(start, end))
            .group_by(Redemption.merchant_id)
        )
    }
    per_holder = (
        select(Redemption.merchant_id.label("merchant_id"))
        .join(Membership, Membership.id == Redemption.membership_id)
        .where(*_in_period(start, end))
        .group_by(Redemption.merchant_id, Membership.member_id)
        .having(func.count() >= 2)
        .subquery()
    )
    repeat: dict[uuid.UUID, int] = dict(
        (
            await session.execute(
                select(per_holder.c.merchant_id, func.count()).group_by(per_holder.c.merchant_id)
            )
        ).all()
    )
    settled = {
        m: (int(f or 0), int(n or 0))
        for m, f, n in await session.execute(
            select(
                Statement.merchant_id,
                func.sum(Statement.fee_fen + Statement.commission_fen),
                func.sum(Statement.net_payable_fen),
            )
            .where(Statement.day >= business_day(start), Statement.day < business_day(end))
            .group_by(Statement.merchant_id)
        )
    }
    ids = set(visits) | set(settled)
    names = dict(
        (
            await session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(ids)))
        ).all()
    )
    rows = [
        MerchantRow(
            merchant_id=m,
            name=names.get(m, ""),
            visits=visits.get(m, (0, 0, 0, 0))[0],
            holders=visits.get(m, (0, 0, 0, 0))[1],
            repeat_holders=int(repeat.get(m, 0)),
            bills_fen=visits.get(m, (0, 0, 0, 0))[2],
            discount_fen=visits.get(m, (0, 0, 0, 0))[3],
            fees_fen=settled.get(m, (0, 0))[0],
            net_fen=settled.get(m, (0, 0))[1],
        )
        for m in ids
    ]
    return sorted(rows, key=lambda r: (-r.bills_fen, r.name, str(r.merchant_id)))


async def concentration(session: AsyncSession, start: datetime, end: datetime) -> Concentration:
    live = int(
        await session.scalar(
            select(func.count()).select_from(Store).where(Store.status == StoreStatus.live)
        )
        or 0
    )
    top = math.ceil(live / 10)
    counts = [
        int(n)
        for (n,) in await session.execute(
            select(func.count())
            .select_from(Redemption)
            .where(*_in_period(start, end))
            .group_by(Redemption.store_id)
            .order_by(func.count().desc())
        )
    ]
    return Concentration(live, top, sum(counts), sum(counts[:top]))
