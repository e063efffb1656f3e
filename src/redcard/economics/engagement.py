"""How members use the card, programme to date: the engagement funnel (bought → first use →
3+ uses → renewed or refunded), time to first use, dormant paying members, and monthly
cohort retention (docs/economics.md).

A member's uses are the committed, not undone, redemptions on their paid cards (a companion's
count for the holder). Renewed: the member has held two paid cards or more that were not
refunded (auto-renewal or buying again). Refunded: a paid card of theirs was refunded.
Cohorts are the month (programme zone) of a member's first paid card; a cohort member is
active in a month when they used the card in it. Reads only; raw rows (docs/economics.md).
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.economics.headline import cards_at
from redcard.kit.time import business_day, utc_now
from redcard.models import Membership, MembershipStatus, PlanKind, Redemption, RedemptionStatus

DORMANT_DAYS = 30
COHORTS = 12


@dataclass(frozen=True, slots=True)
class Funnel:
    bought: int
    first_use: int
    three_uses: int
    renewed: int
    refunded: int
    median_days_to_first_use: float | None
    paying_now: int
    dormant: int  # paying now, no use in the last DORMANT_DAYS days

    def percent(self, n: int) -> int:
        return n * 100 // self.bought if self.bought else 0


@dataclass(frozen=True, slots=True)
class Cohort:
    month: date
    members: int
    active: list[int]  # members active in month 0, 1, ... since their first card (to now)

    def percent(self, k: int) -> int:
        return self.active[k] * 100 // self.members if self.members else 0


def _month(at: datetime) -> date:
    return business_day(at).replace(day=1)


def _months_between(first: date, later: date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


async def _paid_cards(session: AsyncSession) -> dict[uuid.UUID, list[tuple[datetime, str]]]:
    cards: dict[uuid.UUID, list[tuple[datetime, str]]] = defaultdict(list)
    rows = await session.execute(
        select(Membership.member_id, Membership.starts_at, Membership.status).where(
            Membership.kind == PlanKind.paid
        )
    )
    for member, starts_at, status in rows:
        cards[member].append((starts_at, str(status)))
    return cards


async def _uses(
    session: AsyncSession, since: datetime | None = None
) -> list[tuple[uuid.UUID, datetime | None]]:
    """(holder, committed_at) of every use of a paid card, from `since`."""
    stmt = (
        select(Membership.member_id, Redemption.committed_at)
        .join(Membership, Membership.id == Redemption.membership_id)
        .where(
            Redemption.status == RedemptionStatus.committed,
            Membership.kind == PlanKind.paid,
        )
    )
    if since is not None:
        stmt = stmt.where(Redemption.committed_at >= since)
    return [(m, at) for m, at in await session.execute(stmt)]


async def funnel(session: AsyncSession, now: datetime | None = None) -> Funnel:
    now = now or utc_now()
    cards = await _paid_cards(session)
    counts: dict[uuid.UUID, int] = defaultdict(int)
    first: dict[uuid.UUID, datetime] = {}
    last: dict[uuid.UUID, datetime] = {}
    for member, at in await _uses(session):
        if at is None or at > now:
            continue
        counts[member] += 1
        first[member] = min(first.get(member, at), at)
        last[member] = max(last.get(member, at), at)
    days = [
        (first[m] - min(s for s, _ in cards[m])).total_seconds() / 86_400
        for m in first
        if m in cards
    ]
    paying = {m for m, _, _, kind in await cards_at(session, now) if kind == PlanKind.paid}
    quiet_since = now - timedelta(days=DORMANT_DAYS)
    return Funnel(
        bought=len(cards),
        first_use=sum(1 for m in cards if counts.get(m, 0) >= 1),
        three_uses=sum(1 for m in cards if counts.get(m, 0) >= 3),
        renewed=sum(
            1
            for held in cards.values()
            if sum(1 for _, status in held if status != MembershipStatus.refunded) >= 2
        ),
        refunded=sum(
            1 for held in cards.values() if any(s == MembershipStatus.refunded for _, s in held)
        ),
        median_days_to_first_use=round(statistics.median(days), 1) if days else None,
        paying_now=len(paying),
        dormant=sum(1 for m in paying if last.get(m) is None or last[m] < quiet_since),
    )


async def cohorts(
    session: AsyncSession, now: datetime | None = None, months: int = COHORTS
) -> list[Cohort]:
    """The last `months` monthly cohorts, oldest first, each with its active members per
    month since purchase up to the current month."""
    now = now or utc_now()
    this = _month(now)
    cards = await _paid_cards(session)
    joined = {m: _month(min(s for s, _ in held)) for m, held in cards.items()}
    oldest = this
    for _ in range(months - 1):
        oldest = (
            date(oldest.year - 1, 12, 1)
            if oldest.month == 1
            else oldest.replace(month=oldest.month - 1)
        )
    members: dict[date, set[uuid.UUID]] = defaultdict(set)
    for m, month in joined.items():
        if oldest <= month <= this:
            members[month].add(m)
    active: dict[tuple[date, int], set[uuid.UUID]] = defaultdict(set)
    earliest = min(members) if members else this
    since = datetime.combine(earliest, datetime.min.time()).replace(tzinfo=now.tzinfo) - timedelta(
        days=1
    )
    for m, at in await _uses(session, since):
        cohort = joined.get(m)
        if at is None or at > now or cohort is None or cohort not in members:
            continue
        k = _months_between(cohort, _month(at))
        if k >= 0:
            active[(cohort, k)].add(m)
    out = []
    for month in sorted(members):
        span = _months_between(month, this) + 1
        out.append(
            Cohort(month, len(members[month]), [len(active[(month, k)]) for k in range(span)])
        )
    return out
