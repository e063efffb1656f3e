"""Program sunset, the campaign: prepare (with its dry run, sunset/dryrun.py) → approval by a
second operator (sales stop; items, refunds and notices are written, sunset/seed.py) →
(worker, sunset/tasks.py) benefits end at the cut-off and every paid order is refunded once →
progress, the exceptions queue, and reconciliation against the channel's bill
(sunset/reconcile.py).

The refunds themselves go through the one refund path (payments/refunds); what each card gets
back is its plan's refund policy (membership/refund_policy.py).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, Forbidden, InvalidInput, NotFound
from redcard.kit.sql import rowcount
from redcard.kit.time import business_days, utc_now
from redcard.membership import program
from redcard.models import (
    CampaignStatus,
    Membership,
    Refund,
    RefundPolicy,
    RefundStatus,
    SunsetCampaign,
    SunsetItem,
    User,
)
from redcard.payments import refunds as refund_path
from redcard.payments.port import PaymentChannel
from redcard.sunset import reconcile as rec
from redcard.sunset import repository as repo
from redcard.sunset.dryrun import DryRun, dry_run
from redcard.sunset.seed import seed


class CampaignNotFound(NotFound):
    pass


class CampaignAlreadyOpen(Conflict):
    pass


class CampaignNotPrepared(Conflict):
    pass


class TwoPersonRule(Forbidden):
    pass


# -- prepare, approve, cancel -----------------------------------------------------------------
async def prepare(
    session: AsyncSession,
    operator: User,
    *,
    cutoff_at: datetime,
    policy: RefundPolicy = RefundPolicy.full,
    notice: str,
) -> SunsetCampaign:
    if cutoff_at.tzinfo is None:
        raise InvalidInput("the cut-off needs a time zone")
    if cutoff_at < utc_now().replace(second=0, microsecond=0):  # a form's "now" is to the minute
        raise InvalidInput("the cut-off is in the past; choose a time from now on")
    if not notice.strip():
        raise InvalidInput("write the notice members will receive")
    if await repo.get_open(session) is not None:
        raise CampaignAlreadyOpen("a sunset is already prepared or running")
    campaign = SunsetCampaign(
        cutoff_at=cutoff_at,
        policy=policy,
        notice=notice.strip(),
        prepared_by=operator.id,
        status=CampaignStatus.prepared,
        items_count=0,
        total_fen=0,
        renewals_cancelled=0,
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def get_campaign(
    session: AsyncSession, campaign_id: uuid.UUID, *, lock: bool = False
) -> SunsetCampaign:
    campaign = await session.get(SunsetCampaign, campaign_id, with_for_update=lock or None)
    if campaign is None:
        raise CampaignNotFound("no such sunset")
    return campaign


async def approve(session: AsyncSession, campaign_id: uuid.UUID, operator: User) -> SunsetCampaign:
    """The second operator's approval: sales stop at once (under the programme row's lock),
    the campaign's items are written from the same selection as the dry run, auto-renewals
    are cancelled and members are notified, all in this one transaction."""
    campaign = await get_campaign(session, campaign_id, lock=True)
    if campaign.status != CampaignStatus.prepared:
        raise CampaignNotPrepared(f"this sunset is {campaign.status.value}, not waiting")
    if campaign.prepared_by == operator.id:
        raise TwoPersonRule("a second operator must approve; you prepared this sunset")
    await program.close_sales(session, campaign.id)
    now = utc_now()
    count, total = await seed(session, campaign, now)
    renewals = await session.execute(
        update(Membership)
        .where(Membership.auto_renew.is_(True))
        .values(auto_renew=False)
        .execution_options(synchronize_session=False)
    )
    campaign.renewals_cancelled = rowcount(renewals)
    campaign.items_count = count
    campaign.total_fen = total
    campaign.status = CampaignStatus.approved
    campaign.approved_by = operator.id
    campaign.approved_at = now
    await session.flush()
    return campaign


async def cancel(session: AsyncSession, campaign_id: uuid.UUID) -> SunsetCampaign:
    campaign = await get_campaign(session, campaign_id, lock=True)
    if campaign.status != CampaignStatus.prepared:
        raise CampaignNotPrepared("only a sunset still waiting for approval can be cancelled")
    campaign.status = CampaignStatus.cancelled
    await session.flush()
    return campaign


# -- progress and exceptions ------------------------------------------------------------------
@dataclass
class Progress:
    campaign_id: uuid.UUID
    status: str
    items: int
    total_fen: int
    done: int = 0
    done_fen: int = 0
    pending: int = 0
    pending_fen: int = 0
    failed: int = 0
    failed_fen: int = 0
    offline: int = 0
    offline_fen: int = 0

    @property
    def percent(self) -> int:
        return 100 if self.items == 0 else int(100 * self.done / self.items)


async def progress(session: AsyncSession, campaign: SunsetCampaign) -> Progress:
    out = Progress(campaign.id, campaign.status.value, campaign.items_count, campaign.total_fen)
    if campaign.status in (CampaignStatus.prepared, CampaignStatus.cancelled):
        return out
    by_status = await repo.refund_totals(session, campaign.id)
    for status, (n, fen) in by_status.items():
        if status in (RefundStatus.succeeded, RefundStatus.offline):
            out.done += n
            out.done_fen += fen
            if status == RefundStatus.offline:
                out.offline += n
                out.offline_fen += fen
        elif status == RefundStatus.failed:
            out.failed += n
            out.failed_fen += fen
    out.pending = out.items - out.done - out.failed
    out.pending_fen = out.total_fen - out.done_fen - out.failed_fen
    return out


@dataclass
class ExceptionRow:
    refund_id: uuid.UUID
    out_refund_no: str
    member_id: uuid.UUID
    member_phone: str
    amount_fen: int
    attempts: int
    last_error: str | None


async def exceptions(
    session: AsyncSession, campaign_id: uuid.UUID, limit: int = 200
) -> list[ExceptionRow]:
    """The campaign's refunds that need a person: failed at the channel or not refundable
    through it. The operator retries them or records an offline refund."""
    rows = await session.execute(
        select(Refund, SunsetItem.member_id, User.phone)
        .join(SunsetItem, SunsetItem.refund_id == Refund.id)
        .join(User, User.id == SunsetItem.member_id)
        .where(Refund.campaign_id == campaign_id, Refund.status == RefundStatus.failed)
        .order_by(Refund.created_at, Refund.id)
        .limit(limit)
    )
    return [
        ExceptionRow(
            r.id, r.out_refund_no, member_id, phone, r.amount_fen, r.attempts, r.last_error
        )
        for r, member_id, phone in rows
    ]


async def retry_refund(session: AsyncSession, refund_id: uuid.UUID) -> Refund:
    """Retry a refund in the exceptions queue; a campaign's refund still waits for its cut-off
    (benefits run until then)."""
    refund = await refund_path.retry_failed(session, refund_id)
    campaign = await session.get(SunsetCampaign, refund.campaign_id) if refund.campaign_id else None
    if campaign is not None and refund.next_attempt_at < campaign.cutoff_at:
        refund.next_attempt_at = campaign.cutoff_at
        await session.flush()
    return refund


async def settle_offline(session: AsyncSession, refund_id: uuid.UUID, reference: str) -> Refund:
    return await refund_path.mark_offline(session, refund_id, reference)


# -- reconciliation ---------------------------------------------------------------------------
async def reconcile(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    bill: Sequence[TextIO] | None = None,
    *,
    channel: PaymentChannel | None = None,
) -> rec.ReconcileReport:
    """Classify the channel's bill against the campaign's refunds. Reads only. `bill` is the
    bill as CSV files (`rec.write_csv`'s columns); without it, the refund lines of every
    business day from approval to now (or to the campaign's last refund, if later) are
    downloaded from `channel` through the port."""
    campaign = await get_campaign(session, campaign_id)
    if bill is None:
        if channel is None:
            raise ValueError("reconcile needs the bill or the channel to download it from")
        files: list[TextIO] = []
        last = await repo.last_refund_at(session, campaign.id)
        end = max(utc_now(), last) if last is not None else utc_now()
        for day in business_days(campaign.approved_at or campaign.created_at, end):
            out = io.StringIO()
            await rec.write_bill_csv(channel, day, out, kinds=("refund",))
            out.seek(0)
            files.append(out)
        bill = files
    return await rec.reconcile_csv(session, bill, campaign_id=campaign.id)


# -- the operator's console -------------------------------------------------------------------
@dataclass
class Console:
    """The latest campaign with what the operator needs for its stage, and the earlier ones."""

    campaign: SunsetCampaign | None
    history: Sequence[SunsetCampaign]
    dry: DryRun | None = None
    progress: Progress | None = None
    exceptions: list[ExceptionRow] | None = None


async def console(session: AsyncSession, history: int = 9) -> Console:
    campaigns = await repo.list_campaigns(session, history + 1)
    if not campaigns:
        return Console(None, [])
    campaign = campaigns[0]
    view = Console(campaign, campaigns[1:])
    if campaign.status == CampaignStatus.prepared:
        view.dry = await dry_run(session, campaign.policy, campaign.cutoff_at)
    view.progress = await progress(session, campaign)
    if campaign.status in (CampaignStatus.approved, CampaignStatus.completed):
        view.exceptions = await exceptions(session, campaign.id)
    return view
