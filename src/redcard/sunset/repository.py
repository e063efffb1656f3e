"""Queries for the sunset: which paid cards a campaign refunds, in id-ordered batches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.ledger.savings import savings_by_member
from redcard.models import (
    CampaignStatus,
    Membership,
    MembershipStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PlanKind,
    Refund,
    RefundStatus,
    SunsetCampaign,
)


@dataclass(frozen=True, slots=True)
class Candidate:
    membership_id: uuid.UUID
    member_id: uuid.UUID
    plan_id: uuid.UUID
    membership_status: str
    starts_at: datetime
    ends_at: datetime
    order_id: uuid.UUID
    payment_id: uuid.UUID
    paid_fen: int
    paid_at: datetime | None
    reserved_fen: int
    benefits_fen: int


def _reserved() -> object:
    return (
        select(func.coalesce(func.sum(Refund.amount_fen), 0))
        .where(Refund.payment_id == Payment.id, Refund.status != RefundStatus.failed)
        .correlate(Payment)
        .scalar_subquery()
    )


async def iter_candidates(
    session: AsyncSession, batch: int = 5000
) -> AsyncIterator[Sequence[Candidate]]:
    """Every paid card still in force (active, or suspended at the cut-off) with its paid order
    and successful payment, in membership-id order, `batch` at a time (never all at once)."""
    after: uuid.UUID | None = None
    while True:
        stmt = (
            select(
                Membership.id,
                Membership.member_id,
                Membership.plan_id,
                Membership.status,
                Membership.starts_at,
                Membership.ends_at,
                Order.id,
                Payment.id,
                Payment.amount_fen,
                Payment.succeeded_at,
                _reserved(),  # type: ignore[call-overload]
            )
            .join(Order, Order.id == Membership.order_id)
            .join(
                Payment,
                (Payment.order_id == Order.id) & (Payment.status == PaymentStatus.succeeded),
            )
            .where(
                Membership.kind == PlanKind.paid,
                Membership.status.in_([MembershipStatus.active, MembershipStatus.suspended]),
                Order.status == OrderStatus.paid,
            )
            .order_by(Membership.id)
            .limit(batch)
        )
        if after is not None:
            stmt = stmt.where(Membership.id > after)
        rows = (await session.execute(stmt)).all()
        if not rows:
            return
        savings = await savings_by_member(session, {r[1] for r in rows})
        yield [
            Candidate(
                membership_id=r[0],
                member_id=r[1],
                plan_id=r[2],
                membership_status=str(r[3]),
                starts_at=r[4],
                ends_at=r[5],
                order_id=r[6],
                payment_id=r[7],
                paid_fen=int(r[8]),
                paid_at=r[9],
                reserved_fen=int(r[10] or 0),
                benefits_fen=savings.get(r[1], 0),
            )
            for r in rows
        ]
        after = rows[-1][0]
        if len(rows) < batch:
            return


async def get_running(session: AsyncSession) -> SunsetCampaign | None:
    return await session.scalar(
        select(SunsetCampaign)
        .where(SunsetCampaign.status == CampaignStatus.approved)
        .order_by(SunsetCampaign.created_at)
        .limit(1)
    )


async def get_open(session: AsyncSession) -> SunsetCampaign | None:
    """The campaign waiting for approval or running, if any."""
    return await session.scalar(
        select(SunsetCampaign)
        .where(SunsetCampaign.status.in_([CampaignStatus.prepared, CampaignStatus.approved]))
        .order_by(SunsetCampaign.created_at.desc())
        .limit(1)
    )


async def list_campaigns(session: AsyncSession, limit: int = 20) -> Sequence[SunsetCampaign]:
    return (
        await session.scalars(
            select(SunsetCampaign).order_by(SunsetCampaign.created_at.desc()).limit(limit)
        )
    ).all()


async def refund_totals(
    session: AsyncSession, campaign_id: uuid.UUID
) -> dict[str, tuple[int, int]]:
    """(count, fen) of the campaign's refunds by refund status."""
    rows = await session.execute(
        select(Refund.status, func.count(), func.coalesce(func.sum(Refund.amount_fen), 0))
        .where(Refund.campaign_id == campaign_id)
        .group_by(Refund.status)
    )
    return {str(status): (int(n), int(fen)) for status, n, fen in rows}


async def last_refund_at(session: AsyncSession, campaign_id: uuid.UUID) -> datetime | None:
    """When the campaign's last refund through the channel succeeded."""
    return await session.scalar(
        select(func.max(Refund.succeeded_at)).where(
            Refund.campaign_id == campaign_id, Refund.status == RefundStatus.succeeded
        )
    )
