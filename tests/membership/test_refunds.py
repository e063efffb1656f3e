"""A member asks for a refund themselves: a preview first, then the refund through the one
refund path; everything within the cooling-off period, the plan's policy after it (the
benefits used counted from the ledger); refused when nothing is left and once the programme
is closing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from redcard.kit import time as clock
from redcard.kit.time import utc_now
from redcard.ledger.savings import savings_fen
from redcard.membership import service as membership
from redcard.membership.refund_policy import amount_for
from redcard.membership.schemas import PlanCreate
from redcard.models import Membership, Plan, PlanKind, Refund, RefundPolicy
from tests.fixtures.factories import (
    assert_ledger_ok,
    buy_card,
    drain,
    idem,
    login,
    new_shop,
    new_user,
    out_trade_no,
    pay_bill,
    run_sunset,
    setup_plans,
)


async def test_member_previews_then_refunds_within_cooling_off(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(1)
    h = w.member_h[0]
    quote = (await client.get("/api/v1/refunds/quote", headers=h)).json()
    assert quote["allowed"] is True
    assert quote["amount_fen"] == 16800
    assert quote["policy"] == "full"
    done = await client.post("/api/v1/refunds", headers=h | idem())
    assert done.status_code == 201, done.text
    assert done.json()["amount_fen"] == 16800
    # benefits stop at once; the money follows through the worker
    assert (await client.get("/api/v1/memberships/current", headers=h)).status_code == 404
    await drain(settings, db, channels, sandbox)
    mine = (await client.get("/api/v1/refunds", headers=h)).json()
    assert [(r["status"], r["reason"]) for r in mine] == [("succeeded", "self_service")]
    again = await client.post("/api/v1/refunds", headers=h | idem())
    assert again.status_code == 404
    await assert_ledger_ok(db)


async def _plan(db, policy: RefundPolicy, code: str) -> Plan:  # type: ignore[no-untyped-def]
    await setup_plans(db)
    async with db.session_scope() as session:
        return await membership.create_plan(
            session,
            PlanCreate(
                code=code,
                name="年卡",
                price_fen=16800,
                duration_days=365,
                refund_policy=policy,
                cooling_off_days=7,
            ),
        )


async def _card(db, member) -> Membership:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        card = await session.scalar(
            select(Membership).where(
                Membership.member_id == member.id, Membership.kind == PlanKind.paid
            )
        )
        assert card is not None
        return card


async def test_after_cooling_off_the_plans_pro_rata_share_is_refunded(
    client, db, sandbox, settings, channels
):
    plan = await _plan(db, RefundPolicy.pro_rata, "annual-pro-rata")
    member = await new_user(db)
    h = await login(client, member)
    await buy_card(client, sandbox, h, plan.id)
    card = await _card(db, member)
    clock.freeze(card.starts_at + timedelta(days=100))
    expected = amount_for(
        RefundPolicy.pro_rata,
        paid_fen=16800,
        starts_at=card.starts_at,
        ends_at=card.ends_at,
        at=utc_now(),
    )
    assert expected == 12197  # 265 of 365 days left, rounded down
    h = await login(client, member)  # the first login has run out meanwhile
    quote = (await client.get("/api/v1/refunds/quote", headers=h)).json()
    assert quote["allowed"] is True
    assert quote["within_cooling_off"] is False
    assert quote["amount_fen"] == expected
    assert quote["reason"] == "refund policy: pro_rata"
    done = await client.post("/api/v1/refunds", headers=h | idem())
    assert done.status_code == 201, done.text
    assert done.json()["amount_fen"] == expected  # what the preview said, to the fen
    await drain(settings, db, channels, sandbox)
    mine = (await client.get("/api/v1/refunds", headers=h)).json()
    assert [(r["status"], r["amount_fen"]) for r in mine] == [("succeeded", expected)]
    await assert_ledger_ok(db)


async def test_paid_minus_benefits_counts_this_cards_savings_from_the_ledger(
    client, db, sandbox, settings, channels
):
    plan = await _plan(db, RefundPolicy.paid_minus_benefits, "annual-pmb")
    plans = await setup_plans(db)
    shop = await new_shop(db, discount_bp=1000)
    member = await new_user(db)
    h = await login(client, member)
    trial = await client.post(
        "/api/v1/trials", json={"plan_id": str(plans.trial.id)}, headers=h | idem()
    )
    assert trial.status_code == 201, trial.text
    await pay_bill(client, sandbox, h, shop.store.pay_code, "100.00")  # ¥10 saved on the trial
    clock.freeze(utc_now() + timedelta(minutes=1))
    order = await client.post(
        "/api/v1/orders",
        json={"plan_id": str(plan.id), "convert_trial": True},
        headers=h | idem(),
    )
    assert order.status_code == 201, order.text
    await sandbox.pay(out_trade_no(order.json()["pay_url"]))
    await sandbox.flush_notifications()
    clock.freeze(utc_now() + timedelta(minutes=1))
    await pay_bill(client, sandbox, h, shop.store.pay_code, "256.80")  # ¥25.68 on the card
    async with db.session_scope() as session:
        assert await savings_fen(session, member.id) == 1000 + 2568

    within = (await client.get("/api/v1/refunds/quote", headers=h)).json()
    assert (within["within_cooling_off"], within["amount_fen"]) == (True, 16800)
    clock.freeze(utc_now() + timedelta(days=8))
    after = (await client.get("/api/v1/refunds/quote", headers=h)).json()
    assert after["within_cooling_off"] is False
    assert after["benefits_fen"] == 2568  # the trial's savings are not this card's
    assert after["amount_fen"] == 16800 - 2568
    done = await client.post("/api/v1/refunds", headers=h | idem())
    assert done.json()["amount_fen"] == 16800 - 2568
    await drain(settings, db, channels, sandbox)
    await assert_ledger_ok(db)


async def test_refused_after_cooling_off_only_when_nothing_is_left(
    client, db, sandbox, world_factory
):
    plan = await _plan(db, RefundPolicy.paid_minus_benefits, "annual-pmb")
    shop = await new_shop(db, discount_bp=1000)
    member = await new_user(db)
    h = await login(client, member)
    await buy_card(client, sandbox, h, plan.id)
    await pay_bill(client, sandbox, h, shop.store.pay_code, "2000.00")  # ¥200 saved > ¥168
    clock.freeze(utc_now() + timedelta(days=8))
    quote = (await client.get("/api/v1/refunds/quote", headers=h)).json()
    assert quote["allowed"] is False
    assert quote["reason"] == "nothing is left to refund"
    refused = await client.post("/api/v1/refunds", headers=h | idem())
    assert refused.status_code == 409
    assert refused.json()["error"] == "SelfRefundNotAllowed"
    async with db.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(Refund)) == 0
    assert (await client.get("/api/v1/memberships/current", headers=h)).status_code == 200


async def test_refused_once_the_programme_is_closing(client, db, sandbox, world_factory):
    w = await world_factory(1)
    await run_sunset(client, w, cutoff_in=timedelta(days=3))
    quote = (await client.get("/api/v1/refunds/quote", headers=w.member_h[0])).json()
    assert quote["allowed"] is False
    assert "refunded automatically" in quote["reason"]


@pytest.mark.postgres_only
async def test_two_parallel_requests_refund_once(client, db, sandbox, world_factory):
    w = await world_factory(1)
    h = w.member_h[0]
    results = await asyncio.gather(
        *(client.post("/api/v1/refunds", headers=h | idem()) for _ in range(4))
    )
    assert sorted(r.status_code for r in results) == [201, 404, 404, 404]
    async with db.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(Refund)) == 1
