"""Program sunset rules: prepare → dry run → approval by a second operator → (worker) benefits
end at the cut-off and every paid order is refunded once → progress, exceptions, and the
member's own view and self-service refund.

The refunds themselves go through the one refund path (payments/refunds.py).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    MetaData,
    String,
    Table,
    Uuid,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, Forbidden, InvalidInput, NotFound
from redcard.kit.ids import new_id
from redcard.kit.sql import analyze, dialect_name, rowcount
from redcard.kit.time import utc_now
from redcard.ledger.savings import savings_by_member
from redcard.membership import program
from redcard.models import (
    CampaignStatus,
    ItemStatus,
    Membership,
    MembershipStatus,
    Notification,
    Order,
    OrderKind,
    OrderStatus,
    Payment,
    PaymentStatus,
    Plan,
    PlanKind,
    Refund,
    RefundPolicy,
    RefundStatus,
    SunsetCampaign,
    SunsetItem,
    User,
)
from redcard.models.base import UTCDateTime
from redcard.payments import refunds as refund_path
from redcard.sunset import repository as repo
from redcard.sunset.policy import SelfServiceQuote, amount_for, self_service_quote


class CampaignNotFound(NotFound):
    pass


class CampaignAlreadyOpen(Conflict):
    pass


class CampaignNotPrepared(Conflict):
    pass


class TwoPersonRule(Forbidden):
    pass


class SelfRefundNotAllowed(Conflict):
    pass


class NoPaidCard(NotFound):
    pass


# A channel takes refunds of a payment for a limited time (Alipay and WeChat Pay: one year).
CHANNEL_REFUND_WINDOW = timedelta(days=365)
SEED_BATCH = 5000
REASON = "sunset"  # the campaign's refunds' reason
PAST_WINDOW = "paid more than 365 days before the cut-off: past the channel's refund window"


# -- dry run ----------------------------------------------------------------------------------
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


def _decide(c: repo.Candidate, policy: RefundPolicy, cutoff: datetime) -> tuple[int, str | None]:
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


async def dry_run(session: AsyncSession, policy: RefundPolicy, cutoff: datetime) -> DryRun:
    """What a campaign with this policy and cut-off would do now, without doing it. Under the
    `full` policy the database adds it up (`_dry_run_full`); the other policies walk the
    candidates through `_decide`."""
    if policy == RefundPolicy.full:
        return await _dry_run_full(session, cutoff)
    return await _dry_run_each(session, policy, cutoff)


async def _dry_run_each(session: AsyncSession, policy: RefundPolicy, cutoff: datetime) -> DryRun:
    result = DryRun()
    rows: dict[tuple[uuid.UUID, str], DryRunRow] = {}
    plans = {p.id: p.name for p in await session.scalars(select(Plan))}
    async for batch in repo.iter_candidates(session, SEED_BATCH):
        for c in batch:
            amount, reason = _decide(c, policy, cutoff)
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
    `_seed_full`: one grouped read for every figure, one for the first manual cases (seconds
    at a million cards instead of a minute). tests/sunset/test_seed.py checks both agree."""
    c = _full_candidates(cutoff)
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
    if campaign.policy == RefundPolicy.full:
        await _seed_full(session, campaign, now)
    else:
        await _seed_each(session, campaign, now)
    await analyze(session, Refund.__table__, SunsetItem.__table__)  # type: ignore[arg-type]
    count, total = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(SunsetItem.amount_fen), 0)).where(
                SunsetItem.campaign_id == campaign.id, SunsetItem.amount_fen > 0
            )
        )
    ).one()
    await _notify_trial_members(session, campaign, now)
    renewals = await session.execute(
        update(Membership)
        .where(Membership.auto_renew.is_(True))
        .values(auto_renew=False)
        .execution_options(synchronize_session=False)
    )
    campaign.renewals_cancelled = rowcount(renewals)
    campaign.items_count = int(count)
    campaign.total_fen = int(total)
    campaign.status = CampaignStatus.approved
    campaign.approved_by = operator.id
    campaign.approved_at = now
    await session.flush()
    return campaign


async def _seed_each(session: AsyncSession, campaign: SunsetCampaign, now: datetime) -> None:
    """One campaign item, its refund reserved through the one refund path (due at the
    cut-off), and one member notice per candidate, decided in Python by `_decide` (the
    policy's single source of truth), SEED_BATCH candidates at a time."""
    async for batch in repo.iter_candidates(session, SEED_BATCH):
        decided = [(c, *_decide(c, campaign.policy, campaign.cutoff_at)) for c in batch]
        refund_ids = iter(
            await refund_path.request_refunds(
                session,
                [
                    refund_path.RefundAsk(
                        c.payment_id,
                        amount,
                        REASON,
                        campaign.id,
                        submit=reason is None,
                        note=reason,
                    )
                    for c, amount, reason in decided
                    if amount > 0
                ],
                due_at=campaign.cutoff_at,
            )
        )
        items: list[dict[str, Any]] = []
        notes: list[dict[str, Any]] = []
        for c, amount, reason in decided:
            items.append(
                {
                    "id": new_id(),
                    "campaign_id": campaign.id,
                    "membership_id": c.membership_id,
                    "order_id": c.order_id,
                    "payment_id": c.payment_id,
                    "member_id": c.member_id,
                    "plan_id": c.plan_id,
                    "amount_fen": amount,
                    "status": ItemStatus.requested if amount > 0 else ItemStatus.skipped,
                    "manual_reason": reason,
                    "refund_id": next(refund_ids) if amount > 0 else None,
                }
            )
            notes.append(
                _note(c.member_id, campaign, amount_fen=amount, order_id=str(c.order_id), at=now)
            )
        await session.execute(insert(SunsetItem), items)
        await session.execute(insert(Notification), notes)


def _full_candidates(cutoff: datetime) -> Any:
    """Every paid card in force with its paid order and payment, and what the `full` policy
    refunds for it (what is left of the payment), as a subquery; `past_window` marks those
    the channel can no longer refund. `_decide` stays the rule: test_seed.py checks this
    agrees with it."""
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


# the selection approval works from, with the ids it gives each item and refund
_seed = Table(
    "sunset_seed",
    MetaData(),
    Column("item_id", Uuid()),
    Column("refund_id", Uuid()),
    Column("membership_id", Uuid()),
    Column("order_id", Uuid()),
    Column("payment_id", Uuid()),
    Column("member_id", Uuid()),
    Column("plan_id", Uuid()),
    Column("kind", String(32)),
    Column("amount_fen", BigInteger()),
    Column("past_window", Boolean()),
    prefixes=["TEMPORARY"],
)


async def _seed_full(session: AsyncSession, campaign: SunsetCampaign, now: datetime) -> None:
    """`_seed_each` for the `full` policy in SQL: under `full` the amount is a plain function
    of columns (what is left of the payment), so the database computes it. The selection is
    written once to a temporary table with the ids of the items and refunds to be; the
    refunds, the items and the notices are each one INSERT ... SELECT from it, and the
    reservations are one entry. `_decide` stays the rule; tests/sunset/test_seed.py proves both
    ways agree."""
    conn = await session.connection()
    await conn.run_sync(lambda c: _seed.drop(c, checkfirst=True))
    await conn.run_sync(lambda c: _seed.create(c))
    c = _full_candidates(campaign.cutoff_at).c
    await session.execute(
        insert(_seed).from_select(
            [col.name for col in _seed.c],
            select(
                _new_id_sql(session),
                _new_id_sql(session),
                c.membership_id,
                c.order_id,
                c.payment_id,
                c.member_id,
                c.plan_id,
                c.kind,
                c.amount_fen,
                c.past_window,
            ),
        )
    )
    s = _seed.c
    to_refund = s.amount_fen > 0
    totals = {
        OrderKind(kind): (int(n), int(fen))
        for kind, n, fen in await session.execute(
            select(s.kind, func.count(), func.sum(s.amount_fen)).where(to_refund).group_by(s.kind)
        )
    }
    if totals:
        entry_ref = await refund_path.post_bulk_reservation(
            session,
            {kind: fen for kind, (_, fen) in totals.items()},
            sum(n for n, _ in totals.values()),
        )
        await session.execute(
            insert(Refund).from_select(
                [
                    "id",
                    "created_at",
                    "payment_id",
                    "out_refund_no",
                    "amount_fen",
                    "reason",
                    "campaign_id",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "last_error",
                    "reserve_entry_ref",
                ],
                select(
                    s.refund_id,
                    literal(now, UTCDateTime()),
                    s.payment_id,
                    _reference_sql(session, "R", s.refund_id),
                    s.amount_fen,
                    literal(REASON),
                    literal(campaign.id, Uuid()),
                    case(
                        (s.past_window, RefundStatus.failed.value),
                        else_=RefundStatus.pending.value,
                    ),
                    literal(0),
                    literal(max(now, campaign.cutoff_at), UTCDateTime()),
                    case((s.past_window, literal(PAST_WINDOW)), else_=null()),
                    literal(entry_ref),
                ).where(to_refund),
            )
        )
    await session.execute(
        insert(SunsetItem).from_select(
            [
                "id",
                "campaign_id",
                "membership_id",
                "order_id",
                "payment_id",
                "member_id",
                "plan_id",
                "amount_fen",
                "status",
                "manual_reason",
                "refund_id",
            ],
            select(
                s.item_id,
                literal(campaign.id, Uuid()),
                s.membership_id,
                s.order_id,
                s.payment_id,
                s.member_id,
                s.plan_id,
                s.amount_fen,
                case((to_refund, ItemStatus.requested.value), else_=ItemStatus.skipped.value),
                case((s.past_window, literal(PAST_WINDOW)), else_=null()),
                case((to_refund, s.refund_id), else_=null()),
            ),
        )
    )
    await session.execute(
        insert(Notification).from_select(
            ["id", "created_at", "user_id", "template", "params", "sent_at"],
            select(
                _new_id_sql(session),
                literal(now, UTCDateTime()),
                s.member_id,
                literal("sunset_notice"),
                _notice_params_sql(session, campaign, s.amount_fen, s.order_id),
                null(),
            ),
        )
    )
    await conn.run_sync(lambda c: _seed.drop(c))


async def _notify_trial_members(
    session: AsyncSession, campaign: SunsetCampaign, now: datetime
) -> None:
    """Members on a free trial get the notice too (once, and only if no item notified them)."""
    trial_members = await session.scalars(
        select(Membership.member_id)
        .where(Membership.status == MembershipStatus.active, Membership.kind == PlanKind.trial)
        .where(
            ~exists().where(
                SunsetItem.campaign_id == campaign.id,
                SunsetItem.member_id == Membership.member_id,
            )
        )
        .distinct()
    )
    notes = [_note(m, campaign, amount_fen=0, order_id=None, at=now) for m in trial_members]
    if notes:
        await session.execute(insert(Notification), notes)


def _new_id_sql(session: AsyncSession) -> Any:
    """A fresh id per row, made by the database: a UUIDv7 (millisecond time, then random) on
    PostgreSQL, random on SQLite (which stores a UUID as 32 hex digits)."""
    if dialect_name(session) == "postgresql":
        return literal_column(
            "CAST(encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
            "substring(int8send(CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) "
            "AS bigint)) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex') AS uuid)",
            Uuid(),
        )
    return literal_column("lower(hex(randomblob(16)))", Uuid())


def _reference_sql(session: AsyncSession, prefix: str, id_column: Any) -> Any:
    """`kit.ids.reference(prefix)` for a row whose id is `id_column`: the prefix, then the
    id's first 24 hex digits in upper case."""
    if dialect_name(session) == "postgresql":
        digits = func.replace(cast(id_column, String), "-", "")
    else:
        digits = id_column  # SQLite stores a UUID as 32 hex digits
    return literal(prefix) + func.upper(func.substr(digits, 1, 24))


def _notice_params_sql(
    session: AsyncSession, campaign: SunsetCampaign, amount_fen: Any, order_id: Any
) -> Any:
    """The same JSON object as `_note` builds, in SQL (the order id as `str(uuid)`)."""
    order_text: Any
    if dialect_name(session) == "postgresql":
        build, order_text = func.json_build_object, cast(order_id, String)
    else:
        build = func.json_object
        order_text = (
            func.substr(order_id, 1, 8)
            + "-"
            + func.substr(order_id, 9, 4)
            + "-"
            + func.substr(order_id, 13, 4)
            + "-"
            + func.substr(order_id, 17, 4)
            + "-"
            + func.substr(order_id, 21, 12)
        )
    return build(
        "campaign_id",
        str(campaign.id),
        "cutoff_at",
        campaign.cutoff_at.isoformat(),
        "notice",
        campaign.notice,
        "refund_fen",
        amount_fen,
        "order_id",
        order_text,
        type_=JSON,
    )


def _note(
    member_id: uuid.UUID,
    campaign: SunsetCampaign,
    *,
    amount_fen: int,
    order_id: str | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "created_at": at,
        "user_id": member_id,
        "template": "sunset_notice",
        "params": {
            "campaign_id": str(campaign.id),
            "cutoff_at": campaign.cutoff_at.isoformat(),
            "notice": campaign.notice,
            "refund_fen": amount_fen,
            "order_id": order_id,
        },
        "sent_at": None,
    }


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


# -- the member's side ------------------------------------------------------------------------
@dataclass
class TimelineStep:
    label: str
    at: datetime | None


@dataclass
class MemberRefund:
    refund_id: uuid.UUID
    order_id: uuid.UUID
    amount_fen: int
    status: str
    reason: str
    requested_at: datetime
    succeeded_at: datetime | None
    timeline: list[TimelineStep]


async def member_refunds(session: AsyncSession, member: User) -> list[MemberRefund]:
    rows = await session.execute(
        select(Refund, Order.id)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Order, Order.id == Payment.order_id)
        .where(Order.member_id == member.id)
        .order_by(Refund.created_at.desc())
    )
    out = []
    for refund, order_id in rows:
        steps = [TimelineStep("Refund requested", refund.created_at)]
        if refund.status in (RefundStatus.processing, RefundStatus.succeeded):
            steps.append(TimelineStep("Sent to the payment channel", None))
        if refund.status == RefundStatus.failed:
            steps.append(TimelineStep("Needs attention: our team is handling it", None))
        if refund.status == RefundStatus.succeeded:
            steps.append(TimelineStep("Refunded to your payment account", refund.succeeded_at))
        if refund.status == RefundStatus.offline:
            steps.append(TimelineStep("Refunded by bank transfer", refund.succeeded_at))
        out.append(
            MemberRefund(
                refund.id,
                order_id,
                refund.amount_fen,
                "refunded" if refund.status == RefundStatus.offline else refund.status.value,
                refund.reason,
                refund.created_at,
                refund.succeeded_at,
                steps,
            )
        )
    return out


@dataclass
class SelfRefundContext:
    card: Membership
    plan: Plan
    payment: Payment
    quote: SelfServiceQuote


async def _self_refund_context(
    session: AsyncSession, member: User, *, lock: bool
) -> SelfRefundContext:
    card = await session.scalar(
        select(Membership)
        .where(
            Membership.member_id == member.id,
            Membership.status == MembershipStatus.active,
            Membership.kind == PlanKind.paid,
        )
        .with_for_update(of=Membership)
        if lock
        else select(Membership).where(
            Membership.member_id == member.id,
            Membership.status == MembershipStatus.active,
            Membership.kind == PlanKind.paid,
        )
    )
    if card is None or card.order_id is None:
        raise NoPaidCard("you have no active paid card")
    plan = await session.get_one(Plan, card.plan_id)
    payment = await session.scalar(
        select(Payment).where(
            Payment.order_id == card.order_id, Payment.status == PaymentStatus.succeeded
        )
    )
    if payment is None:
        raise NoPaidCard("your card has no completed payment")
    savings = await savings_by_member(session, [member.id])
    now = utc_now()
    quote = self_service_quote(
        plan.refund_policy,
        plan.cooling_off_days,
        paid_fen=payment.amount_fen - payment.refunded_fen,
        starts_at=card.starts_at,
        ends_at=card.ends_at,
        at=now,
        benefits_fen=savings.get(member.id, 0),
    )
    if not await program.sales_open(session):
        quote = SelfServiceQuote(
            False,
            0,
            plan.refund_policy,
            "the programme is closing: every card is refunded automatically",
            quote.cooling_off_ends_at,
        )
    return SelfRefundContext(card, plan, payment, quote)


async def quote_self_refund(session: AsyncSession, member: User) -> SelfRefundContext:
    """The preview a member sees before confirming."""
    return await _self_refund_context(session, member, lock=False)


async def request_self_refund(session: AsyncSession, member: User) -> Refund:
    """The member gives the card back; benefits stop now and the refund goes through the one
    refund path. The card row is locked, so two clicks cannot refund twice."""
    ctx = await _self_refund_context(session, member, lock=True)
    if not ctx.quote.allowed:
        raise SelfRefundNotAllowed(ctx.quote.reason)
    refund = await refund_path.request_refund(
        session, ctx.payment.id, ctx.quote.amount_fen, reason="self_service"
    )
    ctx.card.status = MembershipStatus.refunded
    ctx.card.ended_at = utc_now()
    await session.flush()
    return refund


def group_by_status(rows: list[DryRunRow]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for row in rows:
        out[row.status] += row.count
    return dict(out)
