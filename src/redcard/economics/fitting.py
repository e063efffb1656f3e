"""The simulator's inputs from the programme's own history (economics/simulate.py), and a
back-test of the model against that history.

Member-months: for each of the last full months (the programme's zone), every paying member
whose card was in force at the month's end, with their card spend in it (bills of committed,
not undone, redemptions; a companion's on the holder's card). Months without any spend count:
they are most member-months in a programme like the seed one.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.economics.headline import cards_at, month_bounds, previous_month
from redcard.economics.simulate import Inputs, fit
from redcard.kit.time import business_day, utc_now
from redcard.models import Membership, PlanKind, Redemption, RedemptionStatus, Store, StoreStatus


async def spend_by_holder(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Membership.member_id, func.sum(Redemption.bill_fen))
        .join(Membership, Membership.id == Redemption.membership_id)
        .where(
            Redemption.status == RedemptionStatus.committed,
            Redemption.committed_at >= start,
            Redemption.committed_at < end,
        )
        .group_by(Membership.member_id)
    )
    return {m: int(total or 0) for m, total in rows}


async def member_periods(
    session: AsyncSession, periods: list[tuple[datetime, datetime]]
) -> tuple[list[int], set[uuid.UUID]]:
    """Card spend per paying member and period ([start, end)), and the members: each member
    whose paid card was in force at a period's end counts once for it, spend or not."""
    values: list[int] = []
    members: set[uuid.UUID] = set()
    for start, end in periods:
        in_force = await cards_at(session, end - timedelta(microseconds=1))
        paying = {m for m, _, _, kind in in_force if kind == PlanKind.paid}
        spend = await spend_by_holder(session, start, end)
        values.extend(spend.get(m, 0) for m in paying)
        members |= paying
    return values, members


def last_full_months(now: datetime, n: int) -> list[date]:
    first = business_day(now).replace(day=1)
    out = []
    for _ in range(n):
        first = previous_month(first)
        out.append(first)
    return out


async def exclusive_share(session: AsyncSession) -> float | None:
    """The share of live stores whose deal is members-only; None without live stores."""
    exclusive = case((Store.exclusive_to_members.is_(True), 1), else_=0)
    live, members_only = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(exclusive), 0)).where(
                Store.status == StoreStatus.live
            )
        )
    ).one()
    return int(members_only) / int(live) if live else None


@dataclass(frozen=True, slots=True)
class Fitted:
    inputs: Inputs
    fitted: bool  # False: too little history, the inputs as given
    member_months: int
    members: int
    months: list[date]


async def fitted_inputs(
    session: AsyncSession,
    base: Inputs,
    *,
    exclusive_as_measured: bool = True,
    now: datetime | None = None,
    months: int = 3,
) -> Fitted:
    """`base` with its spend taken from the last `months` full months and the measured
    exclusivity from the live stores; the simulated exclusivity too, unless the caller asks
    "what if" (`exclusive_as_measured=False`)."""
    chosen = last_full_months(now or utc_now(), months)
    values, members = await member_periods(session, [month_bounds(m) for m in chosen])
    found = fit(values, len(members))
    if found is None:
        return Fitted(base, False, len(values), len(members), chosen)
    active, median, sigma = found
    share = await exclusive_share(session)
    measured = base.measured_exclusive_share if share is None else share
    return Fitted(
        replace(
            base,
            active_share=active,
            median_spend_fen=median,
            sigma=sigma,
            measured_exclusive_share=measured,
            exclusive_share=measured if exclusive_as_measured else base.exclusive_share,
        ),
        True,
        len(values),
        len(members),
        chosen,
    )


@dataclass(frozen=True, slots=True)
class Backtest:
    fitted_on: tuple[datetime, datetime]
    tested_on: tuple[datetime, datetime]
    members: int  # paying members in the tested period
    predicted_spend_fen: int
    actual_spend_fen: int

    @property
    def error_percent(self) -> float | None:
        if not self.actual_spend_fen:
            return None
        return (self.predicted_spend_fen - self.actual_spend_fen) * 100 / self.actual_spend_fen


async def backtest(
    session: AsyncSession, now: datetime | None = None, days: int = 14
) -> Backtest | None:
    """Fit the spend model on the `days` before the last `days`, predict the card spend of
    the paying members of the last `days`, and compare with what they spent (savings are
    spend × the discount, in the model and at the till alike). None without enough history."""
    now = now or utc_now()
    tested = (now - timedelta(days=days), now)
    fitted_on = (now - timedelta(days=2 * days), tested[0])
    values, members = await member_periods(session, [fitted_on])
    found = fit(values, len(members))
    if found is None:
        return None
    active, median, sigma = found
    test_values, test_members = await member_periods(session, [tested])
    # an active period's mean spend, log-normal: median × exp(sigma² / 2)
    per_period = active * median * math.exp(sigma * sigma / 2)
    predicted = round(per_period * len(test_values))
    return Backtest(fitted_on, tested, len(test_members), predicted, sum(test_values))
