"""Bad input gets a clear 4xx and writes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from redcard.models import IdempotencyKey, JournalEntry, Order, Plan
from tests.fixtures.factories import assert_ledger_ok, count, idem, login, new_user, setup_plans

GOOD_PLAN = {"code": "good", "name": "好", "price_fen": 100, "duration_days": 30}


@pytest.mark.parametrize(
    "change",
    [
        {"price_fen": -1},
        {"price_fen": 0},
        {"price_fen": 16.8},
        {"price_fen": "168"},
        {"price_fen": True},
        {"price_fen": 10**12},
        {"duration_days": 0},
        {"duration_days": 100_000},
        {"duration_days": 1.5},
        {"code": "Bad Code!"},
        {"name": ""},
        {"refund_policy": "whatever"},
        {"unexpected": 1},
    ],
)
async def test_bad_plans_are_refused_and_nothing_is_written(client, db, change):
    await setup_plans(db)
    operator = await login(client, await new_user(db, role="operator"))
    before = await count(db, Plan)
    response = await client.post(
        "/api/v1/operator/plans", json=GOOD_PLAN | change, headers=operator | idem()
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"] in {"InvalidInput"}
    assert response.json()["detail"]
    assert await count(db, Plan) == before
    assert await count(db, IdempotencyKey) == 0


async def test_unknown_plan_and_malformed_json(client, db):
    await setup_plans(db)
    headers = await login(client, await new_user(db))
    unknown = await client.post(
        "/api/v1/orders", json={"plan_id": str(uuid.uuid4())}, headers=headers | idem()
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "PlanNotFound"
    not_uuid = await client.post(
        "/api/v1/orders", json={"plan_id": "annual"}, headers=headers | idem()
    )
    assert not_uuid.status_code == 422
    malformed = await client.post(
        "/api/v1/orders",
        content=b'{"plan_id": ',
        headers=headers | idem() | {"content-type": "application/json"},
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"] == "InvalidInput"
    assert await count(db, Order) == 0
    assert await count(db, JournalEntry) == 0
    await assert_ledger_ok(db)


async def test_the_plan_pages_refuse_an_ambiguous_price_and_write_nothing(client, db):
    """The operator's plan form reads the price with the one amount parser: "12,50" is a 422."""
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db, role="operator"))
    client.cookies.set("redcard_csrf", "csrf-token-for-tests")
    before = await count(db, Plan)
    form = {"csrf": "csrf-token-for-tests", "code": "good", "name": "好", "duration_days": "30"}
    for price in ("12,50", ",5", "5,", "¥", "1e3"):
        created = await client.post(
            "/operator/plans", data=form | {"price_yuan": price}, headers=headers
        )
        assert created.status_code == 422, (price, created.text)
        changed = await client.post(
            f"/operator/plans/{plans.annual.id}", data=form | {"price_yuan": price}, headers=headers
        )
        assert changed.status_code == 422, (price, changed.text)
        assert "有歧义" in created.text or "最多两位小数" in created.text, price
    assert await count(db, Plan) == before
    async with db.session_scope() as session:
        assert (await session.get_one(Plan, plans.annual.id)).price_fen == plans.annual.price_fen
    good = await client.post(
        "/operator/plans", data=form | {"price_yuan": "1,250"}, headers=headers
    )
    assert good.status_code == 303, good.text
    async with db.session_scope() as session:
        plan = (await session.scalars(select(Plan).where(Plan.code == "good"))).one()
        assert plan.price_fen == 125000
