"""The scarcity index broken down: by district and by category for a month, and week by week
for the last twelve weeks (docs/economics.md). The share of card holders' redemptions, by
count and by bill value, at stores whose deal is members-only (`stores.exclusive_to_members`).
Reads only."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.economics.merchant import WEEKS, week_of
from redcard.kit.time import business_day, day_bounds, utc_now
from redcard.models import Redemption, RedemptionStatus, Store


@dataclass(frozen=True, slots=True)
class Share:
    key: str | date  # a district, a category, or a week's Monday
    redemptions: int
    exclusive: int
    bills_fen: int
    exclusive_bills_fen: int

    @property
    def count_percent(self) -> int:
        return self.exclusive * 100 // self.redemptions if self.redemptions else 0

    @property
    def value_percent(self) -> int:
        return self.exclusive_bills_fen * 100 // self.bills_fen if self.bills_fen else 0


def _figures(start: datetime, end: datetime, *group: Any) -> Any:
    exclusive = case((Store.exclusive_to_members.is_(True), 1), else_=0)
    return (
        select(
            *group,
            func.count(),
            func.coalesce(func.sum(exclusive), 0),
            func.coalesce(func.sum(Redemption.bill_fen), 0),
            func.coalesce(func.sum(exclusive * Redemption.bill_fen), 0),
        )
        .select_from(Redemption)
        .join(Store, Store.id == Redemption.store_id)
        .where(
            Redemption.status == RedemptionStatus.committed,
            Redemption.committed_at >= start,
            Redemption.committed_at < end,
        )
    )


async def totals(session: AsyncSession, start: datetime, end: datetime) -> Share:
    """The whole programme's redemptions in [start, end) and their members-only share."""
    n, x, b, xb = (await session.execute(_figures(start, end))).one()
    return Share("", int(n), int(x), int(b), int(xb))


async def by(session: AsyncSession, column: Any, start: datetime, end: datetime) -> list[Share]:
    """Per value of `column` (Store.district, Store.category), the most redemptions first."""
    rows = await session.execute(_figures(start, end, column).group_by(column))
    shares = [Share(key or "—", int(n), int(x), int(b), int(xb)) for key, n, x, b, xb in rows]
    return sorted(shares, key=lambda s: (-s.redemptions, str(s.key)))


async def weekly(
    session: AsyncSession, now: datetime | None = None, weeks: int = WEEKS
) -> list[Share]:
    """The last `weeks` weeks (Monday to Sunday in the programme's zone), oldest first."""
    now = now or utc_now()
    first = week_of(business_day(now)) - timedelta(weeks=weeks - 1)
    out = []
    for i in range(weeks):
        monday = first + timedelta(weeks=i)
        start, end = day_bounds(monday)[0], day_bounds(monday + timedelta(days=7))[0]
        week = await totals(session, start, end)
        out.append(replace(week, key=monday))
    return out
