"""Two-person rule, sales closing at approval, purchases racing the approval, and the dry
run's account of what cannot be refunded automatically."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from redcard.kit import time as clock
from redcard.kit.time import utc_now
from redcard.membership import service as membership
from redcard.models import (
    Membership,
    MembershipStatus,
    Order,
    Payment,
    ProgramState,
    Refund,
    RefundStatus,
    Role,
    SunsetCampaign,
    User,
)
from redcard.sunset import service, tasks
from tests.fixtures.factories import (
    assert_ledger_ok,
    buy_card,
    drain,
    idem,
    login,
    new_user,
    run_sunset,
)


async def test_preparer_cannot_approve_and_members_cannot_prepare(
    client, db, sandbox, world_factory
):
    w = await world_factory(1)
    by_member = await client.post(
        "/api/v1/operator/sunsets",
        json={"cutoff_at": utc_now().isoformat(), "notice": "x"},
        headers=w.member_h[0] | idem(),
    )
    assert by_member.status_code == 403
    prepared = (
        await client.post(
            "/api/v1/operator/sunsets",
            json={"cutoff_at": utc_now().isoformat(), "notice": "停止服务"},
            headers=w.preparer_h | idem(),
        )
    ).json()
    own = await client.post(
        f"/api/v1/operator/sunsets/{prepared['id']}/approve", headers=w.preparer_h | idem()
    )
    assert own.status_code == 403
    assert "second operator" in own.json()["detail"]
    # nothing changed: still selling, still prepared
    plans = await client.get("/api/v1/plans")
    assert plans.status_code == 200
    async with db.session_scope() as session:
        campaign = await session.get_one(SunsetCampaign, uuid.UUID(prepared["id"]))
        assert campaign.status == "prepared"
        assert campaign.approved_by is None
    # the database holds the rule too
    async with db.session_scope() as session:
        with pytest.raises(Exception, match="two_person"):
            await session.execute(
                update(SunsetCampaign)
                .where(SunsetCampaign.id == campaign.id)
                .values(approved_by=campaign.prepared_by)
            )


async def test_bad_input_is_refused_and_writes_nothing(client, db, sandbox, world_factory):
    w = await world_factory(0)
    naive = await client.post(
        "/api/v1/operator/sunsets",
        json={"cutoff_at": "2026-01-01T00:00:00", "notice": "停止服务"},
        headers=w.preparer_h | idem(),
    )
    assert naive.status_code == 422
    assert naive.json()["error"] == "InvalidInput"
    past = await client.post(
        "/api/v1/operator/sunsets",
        json={"cutoff_at": "2020-01-01T00:00:00+08:00", "notice": "停止服务"},
        headers=w.preparer_h | idem(),
    )
    assert past.status_code == 422
    assert past.json()["detail"] == "the cut-off is in the past; choose a time from now on"
    a_minute_ago = utc_now() - timedelta(minutes=1, seconds=1)
    late = await client.post(
        "/api/v1/operator/sunsets",
        json={"cutoff_at": a_minute_ago.isoformat(), "notice": "停止服务"},
        headers=w.preparer_h | idem(),
    )
    assert late.status_code == 422
    blank = await client.post(
        "/api/v1/operator/sunsets",
        json={"cutoff_at": utc_now().isoformat(), "notice": "  "},
        headers=w.preparer_h | idem(),
    )
    assert blank.status_code == 422
    async with db.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(SunsetCampaign)) == 0


async def test_only_one_sunset_at_a_time(client, db, sandbox, world_factory):
    w = await world_factory(0)
    body = {"cutoff_at": utc_now().isoformat(), "notice": "停止服务"}
    first = await client.post("/api/v1/operator/sunsets", json=body, headers=w.preparer_h | idem())
    assert first.status_code == 201
    second = await client.post("/api/v1/operator/sunsets", json=body, headers=w.approver_h | idem())
    assert second.status_code == 409
    assert second.json()["error"] == "CampaignAlreadyOpen"


async def test_sales_refused_after_approval_with_a_clear_message(
    client, db, sandbox, world_factory
):
    w = await world_factory(1)
    before = (await client.get("/api/v1/plans")).json()
    assert before["sales_open"] is True
    assert {p["code"] for p in before["plans"]} >= {"annual"}
    await run_sunset(client, w, cutoff_in=timedelta(days=3))
    # the plans say sales are closed, and why, instead of listing a card that answers 409
    after = (await client.get("/api/v1/plans")).json()
    assert after["sales_open"] is False
    assert after["plans"] == []
    assert after["notice"]
    assert after["cutoff_at"]
    page = await client.get("/plans")
    assert "会员卡已停止销售" in page.text
    assert after["notice"] in page.text
    assert "UTC+8" in page.text
    assert f"/buy/{w.plans.annual.id}" not in page.text
    buy_page = await client.get(f"/buy/{w.plans.annual.id}", headers=w.member_h[0])
    assert buy_page.status_code == 303
    assert buy_page.headers["location"] == "/plans"
    newcomer = await login(client, await new_user(db, name="新会员"))
    refused = await client.post(
        "/api/v1/orders", json={"plan_id": str(w.plans.annual.id)}, headers=newcomer | idem()
    )
    assert refused.status_code == 409
    assert refused.json() == {
        "error": "SalesClosed",
        "detail": "the programme has stopped selling cards",
    }
    trial = await client.post(
        "/api/v1/trials", json={"plan_id": str(w.plans.trial.id)}, headers=newcomer | idem()
    )
    assert trial.status_code == 409


async def test_payment_confirmed_after_sales_close_is_refunded(
    client, db, sandbox, settings, channels, world_factory
):
    """A member was at the cashier when the sunset was approved: the money comes back."""
    w = await world_factory(1)
    late = await login(client, await new_user(db, name="迟到"))
    order = (
        await client.post(
            "/api/v1/orders", json={"plan_id": str(w.plans.annual.id)}, headers=late | idem()
        )
    ).json()
    await run_sunset(client, w)
    await sandbox.pay(order["pay_url"].split("/sandbox/pay/")[1].split("?")[0])
    await sandbox.flush_notifications()
    assert (await client.get("/api/v1/memberships/current", headers=late)).status_code == 404
    await drain(settings, db, channels, sandbox)
    mine = (await client.get("/api/v1/refunds", headers=late)).json()
    assert [(r["status"], r["reason"], r["amount_fen"]) for r in mine] == [
        ("succeeded", "sales_closed", 16800)
    ]
    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=late)).json()[
        "status"
    ] == "refunded"
    await assert_ledger_ok(db)


@pytest.mark.postgres_only
async def test_purchases_racing_the_approval_end_refunded_or_refused(
    client, db, sandbox, settings, channels, world_factory
):
    """Payments confirmed in parallel with the approval: each ends either in the campaign
    (refunded at the cut-off) or refunded as paid-after-close; none is charged and forgotten."""
    w = await world_factory(0)
    async with db.session_scope() as session:  # as the migration leaves it (tests truncate it)
        await session.merge(ProgramState(id=1, sales_open=True))
    buyers: list[User] = [await new_user(db, name=f"买家{i}") for i in range(8)]
    orders = []
    for buyer in buyers:
        h = await login(client, buyer)
        orders.append(
            (
                await client.post(
                    "/api/v1/orders", json={"plan_id": str(w.plans.annual.id)}, headers=h | idem()
                )
            ).json()
        )
    clock.freeze(utc_now())
    async with db.session_scope() as session:
        campaign = await service.prepare(session, w.preparer, cutoff_at=utc_now(), notice="停")
    for order in orders:
        await sandbox.pay(order["pay_url"].split("/sandbox/pay/")[1].split("?")[0])
    held, sandbox.held = sandbox.held, []

    async def deliver(outgoing) -> None:  # type: ignore[no-untyped-def]
        sandbox.held.append(outgoing)
        await sandbox.flush_notifications()

    async def approve() -> None:
        async with db.session_scope() as session:
            await service.approve(session, campaign.id, w.approver)

    await asyncio.gather(
        *(deliver(o) for o in held[:4]), approve(), *(deliver(o) for o in held[4:])
    )
    await sandbox.flush_notifications()
    await drain(settings, db, channels, sandbox)
    async with db.session_scope() as session:
        paid = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.status == "succeeded")
        )
        refunded = await session.scalar(
            select(func.count(func.distinct(Refund.payment_id))).where(Refund.status == "succeeded")
        )
        statuses = set(await session.scalars(select(Order.status)))
        cards = set(await session.scalars(select(Membership.status)))
    assert paid == 8
    assert refunded == 8
    assert statuses == {"refunded"}
    assert cards <= {"refunded"}
    await assert_ledger_ok(db)


async def test_dry_run_lists_cards_past_the_channel_refund_window(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(2)
    async with db.session_scope() as session:
        old = await session.scalar(select(Payment).limit(1))
        assert old is not None
        old.succeeded_at = utc_now() - timedelta(days=400)
    prepared = (
        await client.post(
            "/api/v1/operator/sunsets",
            json={"cutoff_at": utc_now().isoformat(), "notice": "停止服务"},
            headers=w.preparer_h | idem(),
        )
    ).json()
    dry = prepared["dry_run"]
    assert dry["count"] == 2
    assert dry["manual_count"] == 1
    assert "refund window" in dry["manual"][0]["reason"]
    approved = await client.post(
        f"/api/v1/operator/sunsets/{prepared['id']}/approve", headers=w.approver_h | idem()
    )
    assert approved.status_code == 200
    clock.freeze(utc_now() + timedelta(seconds=1))
    await drain(settings, db, channels, sandbox)
    queue = (
        await client.get(
            f"/api/v1/operator/sunsets/{prepared['id']}/exceptions", headers=w.approver_h
        )
    ).json()
    assert len(queue) == 1
    assert "refund window" in queue[0]["last_error"]


async def test_pro_rata_campaign_refunds_the_unused_share(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(1)
    async with db.session_scope() as session:
        card = await session.scalar(select(Membership))
        assert card is not None
        card.starts_at = utc_now() - timedelta(days=73)
        card.ends_at = card.starts_at + timedelta(days=365)
    sunset = await run_sunset(client, w, policy="pro_rata")
    assert 13400 <= sunset["dry_run"]["total_fen"] <= 13441  # ~292/365 of ¥168
    await drain(settings, db, channels, sandbox)
    mine = (await client.get("/api/v1/refunds", headers=w.member_h[0])).json()
    assert mine[0]["amount_fen"] == sunset["dry_run"]["total_fen"]
    assert mine[0]["status"] == "succeeded"
    await assert_ledger_ok(db)


async def test_buying_then_sunset_keeps_benefits_until_cutoff(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(1)
    await run_sunset(client, w, cutoff_in=timedelta(hours=5))
    await drain(settings, db, channels, sandbox)
    async with db.session_scope() as session:
        # approval reserved the refund; it waits for the cut-off
        refund = (await session.scalars(select(Refund))).one()
        assert (refund.status, refund.attempts) == (RefundStatus.pending, 0)
    assert (
        await client.get("/api/v1/memberships/current", headers=w.member_h[0])
    ).status_code == 200
    clock.advance(timedelta(hours=5))
    await drain(settings, db, channels, sandbox)
    assert (
        await client.get("/api/v1/memberships/current", headers=w.member_h[0])
    ).status_code == 404
    async with db.session_scope() as session:
        refund = (await session.scalars(select(Refund))).one()
        assert refund.status == RefundStatus.succeeded


_ = (membership, Role, buy_card)


async def test_benefits_end_a_chunk_at_a_time_then_the_campaign_records_it(
    client, db, sandbox, world_factory, monkeypatch
):
    """At the cut-off the worker suspends the active cards SUSPEND_CHUNK at a time; the
    campaign says benefits ended only once none is left."""
    monkeypatch.setattr(tasks, "SUSPEND_CHUNK", 2)
    w = await world_factory(5)
    sunset = await run_sunset(client, w)
    done = []
    for _ in range(4):
        async with db.session_scope() as session:
            done.append(await tasks.run_campaign(session))
            campaign = await session.get_one(SunsetCampaign, uuid.UUID(str(sunset["id"])))
            active = await session.scalar(
                select(func.count()).where(Membership.status == MembershipStatus.active)
            )
            done.append((active, campaign.benefits_ended_at is not None))
    assert done == [2, (3, False), 2, (1, False), 1, (0, False), 1, (0, True)]
    for h in w.member_h:
        assert (await client.get("/api/v1/memberships/current", headers=h)).status_code == 404


@pytest.mark.postgres_only
async def test_two_workers_share_the_suspension_and_suspend_each_card_once(
    client, db, sandbox, world_factory, monkeypatch
):
    monkeypatch.setattr(tasks, "SUSPEND_CHUNK", 2)
    w = await world_factory(7)
    await run_sunset(client, w)

    async def worker() -> int:
        total = 0
        for _ in range(10):
            async with db.session_scope() as session:
                total += await tasks.run_campaign(session)
        return total

    # each card counted once, plus the one call that records the end
    assert sum(await asyncio.gather(worker(), worker(), worker())) == 7 + 1
    async with db.session_scope() as session:
        by_status = dict(
            (
                await session.execute(
                    select(Membership.status, func.count()).group_by(Membership.status)
                )
            ).all()
        )
        campaign = (await session.scalars(select(SunsetCampaign))).one()
    assert by_status == {MembershipStatus.suspended: 7}
    assert campaign.benefits_ended_at is not None
