"""The sunset's worker step. Each call is one unit of work; killing the process anywhere loses
nothing and repeats nothing:

1. at the cut-off, benefits end: every active card is suspended (one UPDATE, once, under the
   campaign row's lock);
2. pending items are claimed FOR UPDATE SKIP LOCKED and each gets its refund through the one
   refund path in the same transaction that marks the item requested (unique refund_id on the
   item, unique (campaign_id, payment_id) on refunds), so an item is refunded at most once;
3. the refunds step of the worker (payments/refunds.process_due) drives each refund to the
   channel's verdict with its fixed refund number;
4. when no refund of the campaign is left open, the campaign completes.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Table, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import AppError
from redcard.kit.sql import core_rows, for_update_kwargs, rowcount, update_rows
from redcard.kit.time import utc_now
from redcard.models import (
    CampaignStatus,
    ItemStatus,
    Membership,
    MembershipStatus,
    Refund,
    RefundStatus,
    SunsetCampaign,
    SunsetItem,
)
from redcard.payments.refunds import RefundAsk, request_refunds
from redcard.sunset import repository as repo

log = logging.getLogger(__name__)

REASON = "sunset"
_ITEMS: Table = SunsetItem.__table__  # type: ignore[assignment]


async def run_campaign(session: AsyncSession, batch: int = 2000) -> int:
    """One step of the running campaign; returns how much it did (0 = nothing to do)."""
    campaign = await repo.get_running(session)
    if campaign is None or utc_now() < campaign.cutoff_at:
        return 0
    if campaign.benefits_ended_at is None:
        return await end_benefits(session, campaign)
    claimed = await request_batch(session, campaign, batch)
    if claimed:
        return claimed
    return await maybe_complete(session, campaign)


async def end_benefits(session: AsyncSession, campaign: SunsetCampaign) -> int:
    locked = await session.get_one(SunsetCampaign, campaign.id, with_for_update=True)
    await session.refresh(locked)
    if locked.benefits_ended_at is not None:
        return 0
    result = await session.execute(
        update(Membership)
        .where(Membership.status == MembershipStatus.active)
        .values(status=MembershipStatus.suspended, ended_at=locked.cutoff_at)
        .execution_options(synchronize_session=False)
    )
    locked.benefits_ended_at = utc_now()
    await session.flush()
    return max(1, rowcount(result))


async def request_batch(session: AsyncSession, campaign: SunsetCampaign, batch: int) -> int:
    items = await core_rows(
        session,
        select(
            SunsetItem.id,
            SunsetItem.payment_id,
            SunsetItem.amount_fen,
            SunsetItem.manual_reason,
        )
        .where(SunsetItem.campaign_id == campaign.id, SunsetItem.status == ItemStatus.pending)
        .order_by(SunsetItem.id)
        .limit(batch)
        .with_for_update(**for_update_kwargs(session, skip_locked=True)),
    )
    if not items:
        return 0

    def ask(item: Any) -> RefundAsk:  # a claimed item's row
        return RefundAsk(
            item.payment_id,
            item.amount_fen,
            REASON,
            campaign.id,
            submit=item.manual_reason is None,
            note=item.manual_reason,
        )

    try:
        async with session.begin_nested():
            refund_ids = await request_refunds(session, [ask(i) for i in items])
        await update_rows(
            session,
            _ITEMS,
            [
                {"id": item.id, "status": ItemStatus.requested.value, "refund_id": refund_id}
                for item, refund_id in zip(items, refund_ids, strict=True)
            ],
        )
        return len(items)
    except AppError:
        pass
    # one item no longer fits (e.g. refunded meanwhile by another path): go one by one
    for item in items:
        try:
            async with session.begin_nested():
                [refund_id] = await request_refunds(session, [ask(item)])
            values = {"status": ItemStatus.requested, "refund_id": refund_id}
        except AppError as exc:
            log.warning("sunset item %s not refundable: %s", item.id, exc)
            values = {
                "status": ItemStatus.skipped,
                "manual_reason": str(getattr(exc, "message", exc))[:200],
            }
        await session.execute(
            update(SunsetItem)
            .where(SunsetItem.id == item.id)
            .values(values)
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    return len(items)


async def maybe_complete(session: AsyncSession, campaign: SunsetCampaign) -> int:
    pending_items = await session.scalar(
        select(
            exists().where(
                SunsetItem.campaign_id == campaign.id, SunsetItem.status == ItemStatus.pending
            )
        )
    )
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
    if pending_items or open_refunds:
        return 0
    locked = await session.get_one(SunsetCampaign, campaign.id, with_for_update=True)
    if locked.status == CampaignStatus.approved:
        locked.status = CampaignStatus.completed
        locked.completed_at = utc_now()
        await session.flush()
        return 1
    return 0
