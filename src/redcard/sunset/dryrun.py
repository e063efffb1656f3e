"""A sunset's dry run: what a campaign with this policy and cut-off would refund now, by plan
and status, and which cards need a person, without changing anything.

`decide` is the campaign's rule for one card and `full_candidates` the same selection for the
`full` policy in SQL; approval writes its items from them (sunset/seed.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.membership.refund_policy import amount_for
from redcard.models import (
    Membership,
    MembershipStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Plan,
    PlanKind,
    Refund,
    RefundPolicy,
    RefundStatus,
)
from redcard.sunset import repository as repo

# A channel takes refunds of a payment for a limited time (Alipay and WeChat Pay: one year).
CHANNEL_REFUND_WINDOW = timedelta(days=365)
CANDIDATE_BATCH = 5000  # cards read and written at a time, never all at once
PAST_WINDOW = "paid more than 365 days before the cut-off: past the channel's refund window"


@dataclass
class DryRunRow:
    plan_id: uuid.UUID
    plan_name: str
    status: str
    count: int = 0
    total_fen: int = 0


@dataclass
class ManualCase:
    membership_id: uuid.UUID
    member_id: uuid.UUID
    amount_fen: int
    reason: str


@dataclass
class DryRun:
    count: int = 0
    total_fen: int = 0
    by_plan: list[DryRunRow] = field(default_factory=list)
    manual: list[ManualCase] = field(default_factory=list)
    manual_count: int = 0
    manual_fen: int = 0
    skipped_count: int = 0


def decide(c: repo.Candidate, policy: RefundPolicy, cutoff: datetime) -> tuple[int, str | None]:
    """The amount this campaign refunds for one card, and why it needs a person, if it does."""
    amount = amount_for(
        policy,
        paid_fen=c.paid_fen,
        starts_at=c.starts_at,
        ends_at=c.ends_at,
        at=cutoff,
        benefits_fen=c.benefits_fen,
    )
    amount = max(0, min(amount, c.paid_fen - c.reserved_fen))
    reason = None
    if amount > 0 and c.paid_at is not None and c.paid_at < cutoff - CHANNEL_REFUND_WINDOW:
        reason = PAST_WINDOW
    return amount, reason


def full_candidates(cutoff: datetime) -> Any:
    """Every paid card in force with its paid order and payment, and what the `full` policy
    refunds for it (what is left of the payment), as a subquery; `past_window` marks those
    the channel can no longer refund. `decide` stays the rule: tests/sunset/test_seed.py
    checks this agrees with it."""
    reserved = (
        select(Refund.payment_id, func.sum(Refund.amount_fen).label("fen"))
        .where(Refund.status != RefundStatus.failed)
        .group_by(Refund.payment_id)
        .subquery()
    )
    left = Payment.amount_fen - func.coalesce(reserved.c.fen, 0)
    amount = case((Payment.amount_fen <= 0, 0), (left < 0, 0), else_=left)
    return (
        select(
            Membership.id.label("membership_id"),
            Order.id.label("order_id"),
            Payment.id.label("payment_id"),
            Membership.member_id,
            Membership.plan_id,
            Membership.status,
            Order.kind,
            amount.label("amount_fen"),
            (
                (amount > 0)
                & Payment.succeeded_at.is_not(None)
                & (Payment.succeeded_at < cutoff - CHANNEL_REFUND_WINDOW)
            ).label("past_window"),
        )
        .join(Order, Order.id == Membership.order_id)
        .join(
            Payment,
            (Payment.order_id == Order.id) & (Payment.status == PaymentStatus.succeeded),
        )
        .outerjoin(reserved, reserved.c.payment_id == Payment.id)
        .where(
            Membership.kind == PlanKind.paid,
            Membership.status.in_([MembershipStatus.active, MembershipStatus.suspended]),
            Order.status == OrderStatus.paid,
        )
        .subquery()
    )


async def dry_run(session: AsyncSession, policy: RefundPolicy, cutoff: datetime) -> DryRun:
    """What a campaign with this policy and cut-off would do now, without doing it. Under the
    `full` policy the database adds it up (`_dry_run_full`); the other policies walk the
    candidates through `decide`."""
    if policy == RefundPolicy.full:
        return await _dry_run_full(session, cutoff)
    return await _dry_run_each(session, policy, cutoff)


async def _dry_run_each(session: AsyncSession, policy: RefundPolicy, cutoff: datetime) -> DryRun:
    result = DryRun()
    rows: dict[tuple[uuid.UUID, str], DryRunRow] = {}
    plans = {p.id: p.name for p in await session.scalars(select(Plan))}
    async for batch in repo.iter_candidates(session, CANDIDATE_BATCH):
        for c in batch:
            amount, reason = decide(c, policy, cutoff)
            if amount <= 0:
                result.skipped_count += 1
                continue
            key = (c.plan_id, c.membership_status)
            row = rows.setdefault(
                key, DryRunRow(c.plan_id, plans.get(c.plan_id, "?"), c.membership_status)
            )
            row.count += 1
            row.total_fen += amount
            result.count += 1
            result.total_fen += amount
            if reason:
                result.manual_count += 1
                result.manual_fen += amount
                if len(result.manual) < 100:
                    result.manual.append(ManualCase(c.membership_id, c.member_id, amount, reason))
    result.by_plan = sorted(rows.values(), key=lambda r: (r.plan_name, r.status))
    return result


async def _dry_run_full(session: AsyncSession, cutoff: datetime) -> DryRun:
    """`_dry_run_each` for the `full` policy in the database, over the same selection as
    approval's `seed._seed_full`: one grouped read for every figure, one for the first manual
    cases (seconds at a million cards instead of a minute). tests/sunset/test_seed.py checks
    both agree."""
    c = full_candidates(cutoff)
    plans = {p.id: p.name for p in await session.scalars(select(Plan))}
    result = DryRun()
    rows: dict[tuple[uuid.UUID, str], DryRunRow] = {}
    refundable = (c.c.amount_fen > 0).label("refundable")
    for plan_id, status, to_refund, manual, n, fen in await session.execute(
        select(
            c.c.plan_id,
            c.c.status,
            refundable,
            c.c.past_window,
            func.count(),
            func.sum(c.c.amount_fen),
        ).group_by(c.c.plan_id, c.c.status, refundable, c.c.past_window)
    ):
        if not to_refund:
            result.skipped_count += int(n)
            continue
        key = (plan_id, str(status))
        row = rows.setdefault(key, DryRunRow(plan_id, plans.get(plan_id, "?"), str(status)))
        row.count += int(n)
        row.total_fen += int(fen)
        result.count += int(n)
        result.total_fen += int(fen)
        if manual:
            result.manual_count += int(n)
            result.manual_fen += int(fen)
    result.by_plan = sorted(rows.values(), key=lambda r: (r.plan_name, r.status))
    result.manual = [
        ManualCase(membership_id, member_id, int(amount), PAST_WINDOW)
        for membership_id, member_id, amount in await session.execute(
            select(c.c.membership_id, c.c.member_id, c.c.amount_fen)
            .where(c.c.past_window)
            .order_by(c.c.membership_id)
            .limit(100)
        )
    ]
    return result
