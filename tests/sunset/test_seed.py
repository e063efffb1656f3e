"""Approval's two ways of writing campaign items, their refunds and the notices agree:
`_seed_each` (the policy in Python, `decide`) and `_seed_full` (the `full` policy as
INSERT ... SELECT); so do the dry run's two ways of adding them up."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from redcard.kit.ids import reference
from redcard.kit.time import utc_now
from redcard.models import (
    CampaignStatus,
    Membership,
    Notification,
    Payment,
    RefundPolicy,
    RefundStatus,
    Role,
    SunsetCampaign,
    SunsetItem,
)
from redcard.models import Refund as RefundRow
from redcard.payments.refunds import subledger_differences
from redcard.sunset import dryrun, seed
from tests.fixtures.factories import add_paying_members, new_user, setup_plans


async def _campaign(session: Any, preparer: Any, cutoff_at: datetime) -> SunsetCampaign:
    campaign = SunsetCampaign(
        cutoff_at=cutoff_at,
        policy=RefundPolicy.full,
        notice="停止服务",
        prepared_by=preparer.id,
        status=CampaignStatus.prepared,
        items_count=0,
        total_fen=0,
        renewals_cancelled=0,
    )
    session.add(campaign)
    await session.flush()
    return campaign


def _items(rows: Any) -> set[tuple[Any, ...]]:
    return {
        (r.membership_id, r.order_id, r.payment_id, r.member_id, r.plan_id)
        + (r.amount_fen, str(r.status), r.manual_reason)
        for r in rows
    }


async def _seeded(session: Any, campaign: SunsetCampaign) -> tuple[Any, ...]:
    """What approval wrote for a campaign: its items, its refunds (as their items see them),
    and its notices."""
    items = (
        await session.scalars(select(SunsetItem).where(SunsetItem.campaign_id == campaign.id))
    ).all()
    refunds = {
        r.id: r
        for r in await session.scalars(
            select(RefundRow).where(RefundRow.campaign_id == campaign.id)
        )
    }
    notes = (
        await session.scalars(
            select(Notification).where(
                Notification.params["campaign_id"].as_string() == str(campaign.id)
            )
        )
    ).all()
    assert len({i.id for i in items}) == len(items) == 5
    assert len(refunds) == len([i for i in items if i.refund_id is not None]) == 4
    assert all(n.created_at == campaign.cutoff_at and n.template == "sunset_notice" for n in notes)
    reserved = sorted(
        (
            str(i.payment_id),
            r.amount_fen,
            str(r.status),
            r.last_error,
            r.next_attempt_at >= campaign.cutoff_at,
            r.out_refund_no[:1],
            len(r.out_refund_no),
            r.reason,
        )
        for i in items
        if (r := refunds.get(i.refund_id)) is not None
    )
    return (
        _items(items),
        reserved,
        sorted((str(n.user_id), sorted((n.params | {"campaign_id": None}).items())) for n in notes),
    )


async def test_sql_seed_agrees_with_the_python_policy(db, sandbox):
    plans = await setup_plans(db)
    preparer = await new_user(db, Role.operator, "运营甲")
    await add_paying_members(db, sandbox, plans, 6)
    async with db.session_scope() as session:
        payments = (await session.scalars(select(Payment).order_by(Payment.id))).all()
        now = utc_now()
        # a partial refund already reserved, a full one reserved, a failed one (not counted)
        for payment, fen, status in [
            (payments[0], 5000, RefundStatus.succeeded),
            (payments[1], payments[1].amount_fen, RefundStatus.pending),
            (payments[2], 7000, RefundStatus.failed),
        ]:
            session.add(
                RefundRow(
                    payment_id=payment.id,
                    out_refund_no=reference("R"),
                    amount_fen=fen,
                    reason="test",
                    status=status,
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        # paid long ago: past the channel's refund window
        await session.execute(
            update(Payment)
            .where(Payment.id == payments[3].id)
            .values(succeeded_at=now - timedelta(days=400))
        )
        # a suspended card counts, an expired one does not
        await session.execute(
            update(Membership)
            .where(Membership.order_id == payments[4].order_id)
            .values(status="suspended")
        )
        await session.execute(
            update(Membership)
            .where(Membership.order_id == payments[5].order_id)
            .values(status="expired")
        )
    async with db.session_scope() as session:
        at = utc_now()
        # the dry run adds up the same selection: in the database under `full`
        by_sql_dry = await dryrun._dry_run_full(session, at)
        assert by_sql_dry == await dryrun._dry_run_each(session, RefundPolicy.full, at)
        assert (by_sql_dry.count, by_sql_dry.skipped_count, by_sql_dry.manual_count) == (4, 1, 1)
        assert [m.reason for m in by_sql_dry.manual] == [dryrun.PAST_WINDOW]
        # each way in turn reserves the same refunds, so the first is rolled back
        savepoint = await session.begin_nested()
        by_python = await _campaign(session, preparer, at)
        await seed._seed_each(session, by_python, at)
        seeded = [await _seeded(session, by_python)]
        await savepoint.rollback()
        by_sql = await _campaign(session, preparer, at)
        await seed._seed_full(session, by_sql, at)
        seeded.append(await _seeded(session, by_sql))
        assert seeded[0] == seeded[1]
        # the refunds table agrees with the one reservation entry (the fixture's own refunds
        # above have no entries)
        assert not [d for d in await subledger_differences(session) if "/RQ" in d]
        python_items = seeded[0][0]
        amounts = sorted((a, s, m is not None) for *_, a, s, m in python_items)
        price = plans.annual.price_fen
        assert amounts == [
            (0, "skipped", False),
            (price - 5000, "requested", False),
            (price, "requested", False),
            (price, "requested", False),
            (price, "requested", True),
        ]
