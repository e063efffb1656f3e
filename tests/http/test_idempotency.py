from __future__ import annotations

import asyncio

import pytest

from redcard.models import IdempotencyKey, Order, Payment
from tests.fixtures.factories import count, idem, login, new_user, setup_plans


async def test_same_key_same_body_returns_the_stored_response(client, db):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db)) | idem("order-key-0001")
    body = {"plan_id": str(plans.annual.id)}
    first = await client.post("/api/v1/orders", json=body, headers=headers)
    second = await client.post("/api/v1/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await count(db, Order) == 1


async def test_same_key_different_body_is_refused(client, db):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db)) | idem("order-key-0002")
    await client.post("/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers)
    other = await client.post(
        "/api/v1/orders",
        json={"plan_id": str(plans.annual.id), "convert_trial": True},
        headers=headers,
    )
    assert other.status_code == 409
    assert other.json()["error"] == "IdempotencyKeyReused"
    assert await count(db, Order) == 1


async def test_key_is_required_and_scoped_to_the_caller(client, db):
    plans = await setup_plans(db)
    alice = await login(client, await new_user(db, name="甲"))
    bob = await login(client, await new_user(db, name="乙"))
    body = {"plan_id": str(plans.annual.id)}
    missing = await client.post("/api/v1/orders", json=body, headers=alice)
    assert missing.status_code == 422
    assert missing.json()["error"] == "IdempotencyKeyMissing"
    assert await count(db, IdempotencyKey) == 0
    a = await client.post("/api/v1/orders", json=body, headers=alice | idem("shared-key-1"))
    b = await client.post("/api/v1/orders", json=body, headers=bob | idem("shared-key-1"))
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


async def test_failed_request_does_not_burn_the_key(client, db):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db)) | idem("retry-after-error")
    await client.post("/api/v1/operator/plans", json={}, headers=headers)  # 403, nothing stored
    bad = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.trial.id)}, headers=headers
    )
    assert bad.status_code == 409  # a trial plan is not sold as an order
    good = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers
    )
    assert good.status_code == 201


@pytest.mark.postgres_only
async def test_twenty_concurrent_purchases_with_one_key_make_one_order(client, db):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db)) | idem("concurrent-purchase")
    body = {"plan_id": str(plans.annual.id)}
    responses = await asyncio.gather(
        *(client.post("/api/v1/orders", json=body, headers=headers) for _ in range(20))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await count(db, Order) == 1
    assert await count(db, Payment) == 1
