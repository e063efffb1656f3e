"""Reminders the worker writes, by the clock, each at most once per member and period
(`notifications.enqueue_once`, keyed by card and date or by member and month), so re-runs
and concurrent workers never double them:

- 7 days and 1 day before a paid card ends, when it is not on auto-renew (renewal sends its
  own notice for those);
- on the last day of each month (the programme's zone), the savings summary: "本月为你省下
  ¥X，会员费 ¥168，已回本 N%" (marketing: a member can turn it off);
- 3 days before a free trial ends, with a link to the buy page: converting takes the member's
  own confirmation there, never happens by itself."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard import notifications
from redcard.kit.time import business_day, day_bounds, utc_now
from redcard.ledger.savings import savings_by_member, savings_since_by_member
from redcard.membership import service as membership
from redcard.models import (
    Membership,
    MembershipStatus,
    Notification,
    Plan,
    PlanKind,
)

CARD_EXPIRING_7D = notifications.message(
    "card_expiring_7d",
    "Your card ends in 7 days",
    "Your membership card ends on {ends}. Renew it on the card page to keep your member "
    "prices: {link}",
)
CARD_EXPIRING_1D = notifications.message(
    "card_expiring_1d",
    "Your card ends tomorrow",
    "Your membership card ends on {ends}. Renew it on the card page to keep your member "
    "prices: {link}",
)
SAVINGS_SUMMARY = notifications.message(
    "savings_summary",
    "Your savings this month",
    "This month you saved {saved}. The card costs {fee}, and has paid back {percent}% of it.",
    marketing=True,
)
TRIAL_ENDING = notifications.message(
    "trial_ending",
    "Your free trial ends soon",
    "Your free trial ends on {ends}. It never turns into a paid card by itself: to keep your "
    "benefits, choose the annual card and confirm here: {link}",
)

TRIAL_NOTICE = timedelta(days=3)


def _not_sent_since(template: str, since: datetime) -> Any:
    return ~exists().where(
        Notification.user_id == Membership.member_id,
        Notification.template == template,
        Notification.created_at >= since,
    )


async def _cards_ending(
    session: AsyncSession, kind: PlanKind, lo: datetime, hi: datetime, template: str, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
    """Active cards of `kind` ending in (lo, hi] whose member has no `template` since the
    window opened (the dedupe key is the exact guard; this only skips the done ones)."""
    stmt = (
        select(Membership.id, Membership.member_id, Membership.ends_at)
        .where(
            Membership.status == MembershipStatus.active,
            Membership.kind == kind,
            Membership.ends_at > lo,
            Membership.ends_at <= hi,
            _not_sent_since(template, utc_now() - (hi - lo) - timedelta(days=1)),
        )
        .order_by(Membership.ends_at, Membership.id)
        .limit(limit)
    )
    if kind == PlanKind.paid:
        stmt = stmt.where(Membership.auto_renew.is_(False))
    return [tuple(r) for r in await session.execute(stmt)]  # type: ignore[misc]


async def expiry(session: AsyncSession, base_url: str, limit: int = 500) -> int:
    now = utc_now()
    written = 0
    for template, lo, hi in (
        (CARD_EXPIRING_7D, now + timedelta(days=1), now + timedelta(days=7)),
        (CARD_EXPIRING_1D, now, now + timedelta(days=1)),
    ):
        for card_id, member_id, ends_at in await _cards_ending(
            session, PlanKind.paid, lo, hi, template, limit
        ):
            key = f"{template}:{card_id}:{business_day(ends_at).isoformat()}"
            written += await notifications.enqueue_once(
                session,
                member_id,
                template,
                key,
                ends_at=ends_at.isoformat(),
                link=f"{base_url}/card",
            )
    return written


async def trial_end(session: AsyncSession, base_url: str, limit: int = 500) -> int:
    now = utc_now()
    plan = await membership.featured_plan(session)
    link = f"{base_url}/buy/{plan.id}" if plan is not None else f"{base_url}/plans"
    written = 0
    for card_id, member_id, ends_at in await _cards_ending(
        session, PlanKind.trial, now, now + TRIAL_NOTICE, TRIAL_ENDING, limit
    ):
        written += await notifications.enqueue_once(
            session,
            member_id,
            TRIAL_ENDING,
            f"{TRIAL_ENDING}:{card_id}",
            ends_at=ends_at.isoformat(),
            link=link,
        )
    return written


def month_start(at: datetime) -> datetime:
    """The first instant of `at`'s month in the programme's zone, in UTC."""
    return day_bounds(business_day(at).replace(day=1))[0]


def last_day_of_month(at: datetime) -> bool:
    day = business_day(at)
    return (day + timedelta(days=1)).month != day.month


async def savings_summary(session: AsyncSession, limit: int = 500) -> int:
    """On the month's last day: each paying member's month, once."""
    now = utc_now()
    if not last_day_of_month(now):
        return 0
    since = month_start(now)
    month = business_day(now).strftime("%Y-%m")
    cards = (
        await session.execute(
            select(Membership.member_id, Plan.price_fen)
            .join(Plan, Plan.id == Membership.plan_id)
            .where(
                Membership.status == MembershipStatus.active,
                Membership.kind == PlanKind.paid,
                Membership.starts_at <= now,
                Membership.ends_at > now,
                _not_sent_since(SAVINGS_SUMMARY, since),
            )
            .order_by(Membership.member_id)
            .limit(limit)
        )
    ).all()
    if not cards:
        return 0
    members = [m for m, _ in cards]
    this_month = await savings_since_by_member(session, members, since)
    in_all = await savings_by_member(session, members)
    written = 0
    for member_id, fee_fen in cards:
        percent = in_all[member_id] * 100 // fee_fen if fee_fen > 0 else 0
        written += await notifications.enqueue_once(
            session,
            member_id,
            SAVINGS_SUMMARY,
            f"{SAVINGS_SUMMARY}:{member_id}:{month}",
            saved_fen=this_month[member_id],
            fee_fen=fee_fen,
            percent=percent,
            month=month,
        )
    return written


async def run_step(session: AsyncSession, base_url: str) -> int:
    """The worker's reminders step: every kind, each idempotent. Returns reminders written."""
    return (
        await expiry(session, base_url)
        + await trial_end(session, base_url)
        + await savings_summary(session)
    )
