"""The sunset's worker step. Each call is one unit of work; killing the process anywhere loses
nothing and repeats nothing:

1. at the cut-off, benefits end: every active card is suspended, a chunk at a time (claimed
   FOR UPDATE SKIP LOCKED, so several workers share it);
2. the refunds, reserved by approval and due from the cut-off, are the refunds step's
   (payments/refunds.process_due): it drives each to the channel's verdict with its fixed
   refund number;
3. when no refund of the campaign is left open, the campaign completes.
"""

from __future__ import annotations

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.sql import for_update_kwargs, rowcount
from redcard.kit.time import utc_now
from redcard.models import (
    CampaignStatus,
    Membership,
    MembershipStatus,
    Refund,
    RefundStatus,
    SunsetCampaign,
)
from redcard.sunset import repository as repo


async def run_campaign(session: AsyncSession) -> int:
    """One step of the running campaign; returns how much it did (0 = nothing to do)."""
    campaign = await repo.get_running(session)
    if campaign is None or utc_now() < campaign.cutoff_at:
        return 0
    if campaign.benefits_ended_at is None:
        return await end_benefits(session, campaign)
    return await maybe_complete(session, campaign)


SUSPEND_CHUNK = 50_000


async def end_benefits(session: AsyncSession, campaign: SunsetCampaign) -> int:
    """At the cut-off every active card is suspended, SUSPEND_CHUNK cards a call, claimed FOR
    UPDATE SKIP LOCKED: several workers share a million cards, and refunds settle beside
    them. Once no active card is left, the campaign records when benefits ended."""
    chunk = (
        select(Membership.id)
        .where(Membership.status == MembershipStatus.active)
        .limit(SUSPEND_CHUNK)
        .with_for_update(**for_update_kwargs(session, skip_locked=True))
    )
    suspended = rowcount(
        await session.execute(
            update(Membership)
            .where(Membership.id.in_(chunk.scalar_subquery()))
            .values(status=MembershipStatus.suspended, ended_at=campaign.cutoff_at)
            .execution_options(synchronize_session=False)
        )
    )
    if suspended:
        return suspended
    if await session.scalar(select(exists().where(Membership.status == MembershipStatus.active))):
        return 0  # another worker's chunk, not committed yet
    locked = await session.get_one(SunsetCampaign, campaign.id, with_for_update=True)
    await session.refresh(locked)
    if locked.benefits_ended_at is not None:
        return 0
    locked.benefits_ended_at = utc_now()
    await session.flush()
    return 1


async def maybe_complete(session: AsyncSession, campaign: SunsetCampaign) -> int:
    # two lookups, each served by a partial index: open refunds (ix_refunds_due), failed
    # ones (ix_refunds_failed)
    open_refunds = await session.scalar(
        select(
            exists().where(
                Refund.campaign_id == campaign.id,
                Refund.status.in_([RefundStatus.pending, RefundStatus.processing]),
            )
        )
    ) or await session.scalar(
        select(
            exists().where(Refund.campaign_id == campaign.id, Refund.status == RefundStatus.failed)
        )
    )
    if open_refunds:
        return 0
    locked = await session.get_one(SunsetCampaign, campaign.id, with_for_update=True)
    if locked.status == CampaignStatus.approved:
        locked.status = CampaignStatus.completed
        locked.completed_at = utc_now()
        await session.flush()
        return 1
    return 0
