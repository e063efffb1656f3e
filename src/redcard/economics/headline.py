"""The operator's headline figures for a month, each beside the month before: card holders
paying and on trial, redemptions and what members saved, the share of paying members whose
card has paid for itself, and the scarcity index.

- **Paying members / trials**: people with an active paid / trial card at the month's end (now,
  for the month in progress). A refunded card is not active, so a refunded member is neither.
- **Redemptions**: committed in the month and not undone since (codes at the till and 买单).
- **Member savings**: the ledger's savings memo posted in the month (`member_savings` lines:
  redemptions less undos), so an undo lowers the month it happens in.
- **Break-even share**: of the paying members, those whose current card has saved them at
  least its fee so far (the savings memo since the card started, against the plan's price).
- **Scarcity index**: of the month's redemptions, the share at stores whose deal is exclusive
  to card holders (`stores.exclusive_to_members`, declared by the merchant), by count and by
  bill value. The seed programme's weakness: its deals were at stores anyone could visit.

Reads only (the replica when there is one); docs/economics.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.economics import scarcity
from redcard.kit.time import business_day, day_bounds, utc_now
from redcard.ledger.accounts import Account
from redcard.ledger.savings import savings_between
from redcard.models import (
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Membership,
    Plan,
    PlanKind,
)


@dataclass(frozen=True, slots=True)
class Figures:
    start: datetime
    end: datetime  # exclusive; now for the month in progress
    paying_members: int
    trials: int
    redemptions: int
    savings_fen: int
    broken_even: int  # paying members whose card has saved at least its fee
    exclusive_redemptions: int
    bills_fen: int
    exclusive_bills_fen: int

    @property
    def break_even_percent(self) -> int:
        return self.broken_even * 100 // self.paying_members if self.paying_members else 0

    @property
    def scarcity_count_percent(self) -> int:
        return self.exclusive_redemptions * 100 // self.redemptions if self.redemptions else 0

    @property
    def scarcity_value_percent(self) -> int:
        return self.exclusive_bills_fen * 100 // self.bills_fen if self.bills_fen else 0


@dataclass(frozen=True, slots=True)
class Headline:
    month: date  # the first day
    current: Figures
    previous: Figures


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """The month starting at `first` as UTC instants, in the programme's zone."""
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return day_bounds(first)[0], day_bounds(following)[0]


def parse_month(text: str | None, now: datetime | None = None) -> date:
    """A month asked for as YYYY-MM (None or empty: this month, in the programme's zone), as
    its first day; ValueError with a sentence for anything else or a month not begun."""
    this = business_day(now or utc_now()).replace(day=1)
    if not text:
        return this
    try:
        month = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ValueError("the month must look like 2026-11") from None
    if month > this:
        raise ValueError("that month has not started yet")
    return month


def previous_month(first: date) -> date:
    return date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)


Card = tuple[uuid.UUID, datetime, int, str]  # member, card start, plan price, kind


async def cards_at(session: AsyncSession, at: datetime) -> list[Card]:
    """Every card in force at `at`: started, not past its end, and not ended early by then (a
    refund, a trial's conversion, the sunset's cut-off all set `ended_at`), whatever its
    status is now."""
    rows = await session.execute(
        select(Membership.member_id, Membership.starts_at, Plan.price_fen, Membership.kind)
        .join(Plan, Plan.id == Membership.plan_id)
        .where(
            Membership.starts_at <= at,
            Membership.ends_at > at,
            or_(Membership.ended_at.is_(None), Membership.ended_at > at),
        )
    )
    return [(m, s, int(p), str(k)) for m, s, p, k in rows]


async def figures(session: AsyncSession, start: datetime, end: datetime) -> Figures:
    cards = await cards_at(session, end - timedelta(microseconds=1))  # its last instant
    paying = [c for c in cards if c[3] == PlanKind.paid]
    saved = await savings_between(session, {m: start for m, start, _, _ in paying}, end)
    broken_even = sum(1 for m, _, fee, _ in paying if fee > 0 and saved[m] >= fee)
    used = await scarcity.totals(session, start, end)
    savings = await session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount_fen), 0))
        .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(
            LedgerAccount.code == Account.member_savings,
            JournalEntry.posted_at >= start,
            JournalEntry.posted_at < end,
        )
    )
    return Figures(
        start=start,
        end=end,
        paying_members=len({m for m, _, _, _ in paying}),
        trials=len({m for m, _, _, k in cards if k == PlanKind.trial}),
        redemptions=used.redemptions,
        savings_fen=-int(savings or 0),
        broken_even=broken_even,
        exclusive_redemptions=used.exclusive,
        bills_fen=used.bills_fen,
        exclusive_bills_fen=used.exclusive_bills_fen,
    )


async def headline(session: AsyncSession, month: date, now: datetime | None = None) -> Headline:
    """The month starting at `month` (its first day) and the one before; the month in
    progress ends now."""
    now = now or utc_now()
    start, end = month_bounds(month)
    before = previous_month(month)
    return Headline(
        month=month,
        current=await figures(session, start, min(end, now)),
        previous=await figures(session, *month_bounds(before)),
    )
