"""Writing a campaign at approval: one item per paid card in force, its refund reserved
through the one refund path (due at the cut-off), and one notice per member, from the same
selection as the dry run (sunset/dryrun.py).

Under the `full` policy the database writes everything (`_seed_full`); the other policies go
through `decide` in Python, CANDIDATE_BATCH cards at a time (`_seed_each`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
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
)
from sqlalchemy.ext.asyncio import AsyncSession

from redcard import notifications
from redcard.kit.ids import new_id
from redcard.kit.sql import analyze, dialect_name
from redcard.models import (
    ItemStatus,
    Membership,
    MembershipStatus,
    Notification,
    OrderKind,
    PlanKind,
    Refund,
    RefundPolicy,
    RefundReason,
    RefundStatus,
    SunsetCampaign,
    SunsetItem,
)
from redcard.models.base import UTCDateTime
from redcard.payments import refunds as refund_path
from redcard.sunset import repository as repo
from redcard.sunset.dryrun import CANDIDATE_BATCH, PAST_WINDOW, decide, full_candidates

SUNSET_NOTICE = notifications.message(
    "sunset_notice",
    "The programme is ending",
    "{notice} Card benefits end at {cutoff}. Your refund: {refund}.",
)
REASON = RefundReason.sunset  # the campaign's refunds' reason


async def seed(session: AsyncSession, campaign: SunsetCampaign, now: datetime) -> tuple[int, int]:
    """Write the campaign's items, refunds and notices (trial members are told too); returns
    the number of cards to refund and their total."""
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
    return int(count), int(total)


async def _seed_each(session: AsyncSession, campaign: SunsetCampaign, now: datetime) -> None:
    """One campaign item, its refund reserved through the one refund path (due at the
    cut-off), and one member notice per candidate, decided in Python by `decide` (the
    policy's single source of truth), CANDIDATE_BATCH candidates at a time."""
    async for batch in repo.iter_candidates(session, CANDIDATE_BATCH):
        decided = [(c, *decide(c, campaign.policy, campaign.cutoff_at)) for c in batch]
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
    reservations are one entry. `decide` stays the rule; tests/sunset/test_seed.py proves both
    ways agree."""
    conn = await session.connection()
    await conn.run_sync(lambda c: _seed.drop(c, checkfirst=True))
    await conn.run_sync(lambda c: _seed.create(c))
    c = full_candidates(campaign.cutoff_at).c
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
                    literal(REASON.value),
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
