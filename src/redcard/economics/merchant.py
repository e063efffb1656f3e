"""What the programme brings one merchant, week by week: card holders served, their bills,
the discount the merchant gave, the platform's fees and the net settled on 买单, and how
many card holders came back.

Weeks run Monday to Sunday in the programme's zone; the current week is partial. A visit is
a committed redemption (a code at the till or a 买单) not undone since; a card holder is the
card's holder, so a household companion's visits count for the primary (docs/economics.md).
Fees and net come from the daily settlement statements (买单 only: a till code is paid to
the store directly). The discount is reconciled to the ledger's savings memo: the merchant's
`merchant_discounts_funded` balance is every visit's discount ever, and the page shows both.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.time import business_day, day_bounds, utc_now
from redcard.ledger.accounts import Account
from redcard.ledger.service import balance
from redcard.models import Membership, Redemption, RedemptionStatus, Statement

WEEKS = 12


def week_of(day: date) -> date:
    """The Monday that starts `day`'s week."""
    return day - timedelta(days=day.weekday())


@dataclass(slots=True)
class Week:
    start: date
    visits: int = 0
    bills_fen: int = 0  # what card holders' bills came to, before the discount
    discount_fen: int = 0  # what the merchant gave them
    fees_fen: int = 0  # payment fee and commission on 买单 (the settlement statements)
    net_fen: int = 0  # settled to the merchant for 买单
    holders: set[uuid.UUID] = field(default_factory=set)
    returning: set[uuid.UUID] = field(default_factory=set)  # visited in an earlier week too

    @property
    def members(self) -> int:
        return len(self.holders)

    @property
    def returning_members(self) -> int:
        return len(self.returning)


@dataclass(frozen=True, slots=True)
class MerchantValue:
    merchant_id: uuid.UUID
    since: date  # the first week's Monday
    weeks: list[Week]  # oldest first, the current (partial) week last
    members: int  # card holders served in the window
    repeat_members: int  # of them, those with two visits or more in the window
    discount_all_time_fen: int  # every visit's discount, from the redemptions
    ledger_discount_fen: int  # the ledger's merchant_discounts_funded balance

    @property
    def repeat_percent(self) -> int:
        return self.repeat_members * 100 // self.members if self.members else 0

    @property
    def reconciled(self) -> bool:
        return self.discount_all_time_fen == self.ledger_discount_fen

    def total(self, name: str) -> int:
        return sum(getattr(w, name) for w in self.weeks)


async def merchant_value(
    session: AsyncSession,
    merchant_id: uuid.UUID,
    *,
    weeks: int = WEEKS,
    now: datetime | None = None,
) -> MerchantValue:
    now = now or utc_now()
    this_week = week_of(business_day(now))
    since = this_week - timedelta(weeks=weeks - 1)
    start_at = day_bounds(since)[0]
    by_week = {since + timedelta(weeks=i): Week(since + timedelta(weeks=i)) for i in range(weeks)}

    visits = (
        await session.execute(
            select(
                Redemption.committed_at,
                Membership.member_id,
                Redemption.bill_fen,
                Redemption.discount_fen,
            )
            .join(Membership, Membership.id == Redemption.membership_id)
            .where(
                Redemption.merchant_id == merchant_id,
                Redemption.status == RedemptionStatus.committed,
                Redemption.committed_at >= start_at,
            )
        )
    ).all()
    # each holder's first visit here ever, to tell a returning member from a new one
    first_rows = await session.execute(
        select(Membership.member_id, func.min(Redemption.committed_at))
        .join(Membership, Membership.id == Redemption.membership_id)
        .where(
            Redemption.merchant_id == merchant_id,
            Redemption.status == RedemptionStatus.committed,
        )
        .group_by(Membership.member_id)
    )
    first_week = {h: week_of(business_day(at)) for h, at in first_rows if at is not None}
    in_window: dict[uuid.UUID, int] = defaultdict(int)
    for committed_at, holder, bill_fen, discount_fen in visits:
        if committed_at is None:  # a committed redemption always has its time
            continue
        week = by_week.get(week_of(business_day(committed_at)))
        if week is None:  # committed after `now` (a clock moved back): not this report's
            continue
        week.visits += 1
        week.bills_fen += bill_fen
        week.discount_fen += discount_fen
        week.holders.add(holder)
        if first_week[holder] < week.start:
            week.returning.add(holder)
        in_window[holder] += 1

    statements = await session.execute(
        select(
            Statement.day, Statement.fee_fen + Statement.commission_fen, Statement.net_payable_fen
        ).where(Statement.merchant_id == merchant_id, Statement.day >= since)
    )
    for day, fees_fen, net_fen in statements:
        week = by_week.get(week_of(day))
        if week is not None:
            week.fees_fen += fees_fen
            week.net_fen += net_fen

    all_time = await session.scalar(
        select(func.coalesce(func.sum(Redemption.discount_fen), 0)).where(
            Redemption.merchant_id == merchant_id,
            Redemption.status == RedemptionStatus.committed,
        )
    )
    ledger = await balance(session, Account.merchant_discounts_funded, str(merchant_id))
    return MerchantValue(
        merchant_id=merchant_id,
        since=since,
        weeks=[by_week[k] for k in sorted(by_week)],
        members=len(in_window),
        repeat_members=sum(1 for n in in_window.values() if n >= 2),
        discount_all_time_fen=int(all_time or 0),
        ledger_discount_fen=int(ledger),
    )
