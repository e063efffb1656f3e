from __future__ import annotations

from redcard.ledger.accounts import Account
from redcard.ledger.service import balance
from redcard.models import Membership, Order, Payment
from tests.fixtures.factories import (
    assert_ledger_ok,
    buy_card,
    count,
    idem,
    login,
    new_user,
    setup_plans,
)


async def test_member_buys_annual_card_and_sees_it_active(client, db, sandbox):
    plans = await setup_plans(db)
    member = await new_user(db)
    headers = await login(client, member)

    listed = (await client.get("/api/v1/plans")).json()["plans"]
    assert {p["code"] for p in listed} == {"annual", "trial90"}

    order = await buy_card(client, sandbox, headers, plans.annual.id)
    assert order["status"] == "pending"
    assert order["amount_fen"] == 16800
    assert order["terms_version_id"] == str(plans.annual.terms_version_id)

    card = await client.get("/api/v1/memberships/current", headers=headers)
    assert card.status_code == 200, card.text
    assert card.json()["status"] == "active"
    assert card.json()["kind"] == "paid"
    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=headers)).json()[
        "status"
    ] == "paid"
    async with db.session_scope() as session:
        assert await balance(session, Account.channel_clearing) == 16800
        assert await balance(session, Account.deferred_membership_revenue) == -16800
    await assert_ledger_ok(db)


async def test_card_is_not_active_until_the_channel_confirms(client, db, sandbox):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    response = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    assert response.status_code == 201
    assert (await client.get("/api/v1/memberships/current", headers=headers)).status_code == 404
    # the member comes back without a callback having arrived: a status query settles it
    order_id = response.json()["id"]
    out_trade_no = response.json()["pay_url"].split("/sandbox/pay/")[1].split("?")[0]
    await sandbox.pay(out_trade_no)  # notification held by the sandbox, not delivered
    refreshed = await client.post(f"/api/v1/orders/{order_id}/refresh", headers=headers)
    assert refreshed.json()["status"] == "paid"
    assert (await client.get("/api/v1/memberships/current", headers=headers)).status_code == 200
    # the late notification then changes nothing
    await sandbox.flush_notifications()
    assert await count(db, Membership) == 1
    await assert_ledger_ok(db)


async def test_one_active_card_per_member(client, db, sandbox):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    await buy_card(client, sandbox, headers, plans.annual.id)
    again = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    assert again.status_code == 409
    assert again.json()["error"] == "AlreadyMember"
    assert await count(db, Order) == 1


async def test_trial_converts_to_paid_only_with_consent(client, db, sandbox):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    trial = await client.post(
        "/api/v1/trials", json={"plan_id": str(plans.trial.id)}, headers=headers | idem()
    )
    assert trial.status_code == 201, trial.text
    assert trial.json()["kind"] == "trial"

    no_consent = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    assert no_consent.status_code == 409
    assert no_consent.json()["error"] == "TrialConversionNeedsConsent"
    assert await count(db, Payment) == 0

    response = await client.post(
        "/api/v1/orders",
        json={"plan_id": str(plans.annual.id), "convert_trial": True},
        headers=headers | idem(),
    )
    assert response.status_code == 201
    out_trade_no = response.json()["pay_url"].split("/sandbox/pay/")[1].split("?")[0]
    await sandbox.pay(out_trade_no)
    await sandbox.flush_notifications()
    cards = (await client.get("/api/v1/memberships", headers=headers)).json()
    assert sorted((c["kind"], c["status"]) for c in cards) == [
        ("paid", "active"),
        ("trial", "converted"),
    ]


async def test_trial_only_once(client, db):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    first = await client.post(
        "/api/v1/trials", json={"plan_id": str(plans.trial.id)}, headers=headers | idem()
    )
    assert first.status_code == 201
    second = await client.post(
        "/api/v1/trials", json={"plan_id": str(plans.trial.id)}, headers=headers | idem()
    )
    assert second.status_code == 409


async def test_retired_plan_is_not_sold(client, db):
    plans = await setup_plans(db)
    operator = await login(client, await new_user(db, role="operator"))
    retired = await client.patch(
        f"/api/v1/operator/plans/{plans.annual.id}",
        json={"name": "年卡", "status": "retired"},
        headers=operator | idem(),
    )
    assert retired.status_code == 200, retired.text
    headers = await login(client, await new_user(db))
    response = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    assert response.status_code == 409
    assert response.json()["error"] == "PlanNotOnSale"
    assert "annual" not in {p["code"] for p in (await client.get("/api/v1/plans")).json()["plans"]}


async def test_operator_creates_and_reprices_plan(client, db):
    await setup_plans(db)
    operator = await login(client, await new_user(db, role="operator"))
    created = await client.post(
        "/api/v1/operator/plans",
        json={
            "code": "half",
            "name": "半年卡",
            "price_fen": 9800,
            "duration_days": 183,
            "refund_policy": "pro_rata",
        },
        headers=operator | idem(),
    )
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    repriced = await client.patch(
        f"/api/v1/operator/plans/{plan_id}",
        json={"name": "半年卡", "price_fen": 8800},
        headers=operator | idem(),
    )
    assert repriced.json()["price_fen"] == 8800
    listed = {p["code"]: p for p in (await client.get("/api/v1/plans")).json()["plans"]}
    assert listed["half"]["price_fen"] == 8800
    assert listed["half"]["refund_policy"] == "pro_rata"


async def test_card_expires_after_its_term_and_can_be_bought_again(client, db, sandbox, app):
    from datetime import timedelta

    from redcard.kit import time as clock
    from redcard.worker import Worker

    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    await buy_card(client, sandbox, headers, plans.annual.id)
    clock.advance(timedelta(days=365, seconds=1))
    ctx = app.state.ctx
    done = await Worker(ctx.settings, ctx.db, ctx.channels).run_once()
    assert done["expiry"] == 1
    assert (await client.get("/api/v1/memberships/current", headers=headers)).status_code == 401
    headers = await login(client, await _same_user(db))  # a year later the login has expired
    assert (await client.get("/api/v1/memberships/current", headers=headers)).status_code == 404
    assert [
        c["status"] for c in (await client.get("/api/v1/memberships", headers=headers)).json()
    ] == ["expired"]
    headers = await login(client, await _same_user(db))
    again = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    assert again.status_code == 201


async def _same_user(db):
    from sqlalchemy import select

    from redcard.models import User

    async with db.session_scope() as session:
        return await session.scalar(select(User))


async def test_operator_publishes_new_terms_and_orders_keep_theirs(client, db, sandbox):
    plans = await setup_plans(db)
    operator = await login(client, await new_user(db, role="operator"))
    member = await login(client, await new_user(db))
    order = await buy_card(client, sandbox, member, plans.annual.id)
    published = await client.post(
        "/api/v1/operator/terms",
        json={"title": "会员协议 v2", "body": "新条款"},
        headers=operator | idem(),
    )
    assert published.status_code == 201
    assert published.json()["version"] == 2
    kept = await client.get(f"/api/v1/terms/{order['terms_version_id']}")
    assert kept.json()["version"] == 1
    assert kept.json()["body"] == "条款正文"
