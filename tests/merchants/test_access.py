"""Which stores a user may act on (`merchants.access`): the owner of a merchant (not on the
store's staff) and the store's staff get the same answer in every capability, through the
API: its 买单 bills, its events, its statements, its till. Staff of another store get none."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from redcard.kit import time as clock
from redcard.merchants import access
from redcard.models import Role
from tests.fixtures.factories import (
    Shop,
    at,
    code_for,
    idem,
    login,
    new_card_holder,
    new_shop,
    new_user,
    pay_bill,
)

DAY = date(2026, 11, 20)


async def _may_act(client: httpx.AsyncClient, db, shop: Shop, headers, title: str) -> None:  # type: ignore[no-untyped-def]
    store = shop.store
    stores = await client.get("/api/v1/merchant/stores", headers=headers)
    assert [s["id"] for s in stores.json()] == [str(store.id)]

    bills = await client.get("/api/v1/merchant/bills", headers=headers)
    assert bills.status_code == 200, bills.text
    assert [b["store_id"] for b in bills.json()] == [str(store.id)]

    start = clock.utc_now() + timedelta(days=2)
    event = {
        "title": title,
        "store_id": str(store.id),
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "capacity": 6,
    }
    created = await client.post("/api/v1/manage/events", json=event, headers=headers | idem())
    assert created.status_code == 201, created.text
    stats = await client.get(f"/api/v1/manage/events/{created.json()['id']}/stats", headers=headers)
    assert stats.status_code == 200, stats.text

    statements = (await client.get("/api/v1/merchant/statements", headers=headers)).json()
    assert [s["merchant_id"] for s in statements] == [str(shop.merchant.id)]
    statement_id = statements[0]["id"]
    one = await client.get(f"/api/v1/merchant/statements/{statement_id}", headers=headers)
    assert one.status_code == 200, one.text
    csv = await client.get(f"/api/v1/merchant/statements/{statement_id}/csv", headers=headers)
    assert csv.status_code == 200, csv.text

    member = await new_card_holder(db, name=f"{title}的客人")
    prepared = await client.post(
        "/api/v1/redemptions/prepare",
        json={"store_id": str(store.id), "code": await code_for(db, member), "bill_fen": 10000},
        headers=headers,
    )
    assert prepared.status_code == 201, prepared.text
    rid = prepared.json()["id"]
    committed = await client.post(f"/api/v1/redemptions/{rid}/commit", headers=headers | idem())
    assert committed.status_code == 200, committed.text
    undone = await client.post(f"/api/v1/redemptions/{rid}/undo", headers=headers | idem())
    assert undone.status_code == 200, undone.text
    listed = await client.get(f"/api/v1/stores/{store.id}/redemptions", headers=headers)
    assert rid in [r["id"] for r in listed.json()]

    for page in (
        "/merchant/bills",
        "/merchant/pos",
        f"/merchant/stores/{store.id}/qr",
        "/merchant/statements",
        f"/merchant/statements/{statement_id}",
        "/manage/events",
    ):
        shown = await client.get(page, headers=headers)
        assert shown.status_code == 200, page
        assert store.name in shown.text or shop.merchant.name in shown.text, page


async def test_the_owner_and_the_staff_of_a_store_may_act_on_it_and_no_one_else(
    client, db, sandbox
):
    clock.freeze(at(DAY, 12))
    shop = await new_shop(db)  # the owner is not on the store's staff
    other = await new_shop(db, name="别家")
    member = await login(client, await new_card_holder(db))
    await pay_bill(client, sandbox, member, shop.store.pay_code, "100")
    clock.freeze(at(DAY + timedelta(days=1), 3))
    operator = await login(client, await new_user(db, role=Role.operator, name="运营"))
    settled = await client.post(
        "/api/v1/operator/settlements", json={"day": DAY.isoformat()}, headers=operator | idem()
    )
    assert settled.status_code == 200, settled.text
    statement_id = settled.json()[0]["id"]

    async with db.session_scope() as session:
        answers = [
            await access.store_ids_for(session, user)
            for user in (shop.owner, shop.staff[0], other.staff[0])
        ]
    assert answers == [[shop.store.id], [shop.store.id], [other.store.id]]

    await _may_act(client, db, shop, await login(client, shop.owner), "老板的活动")
    await _may_act(client, db, shop, await login(client, shop.staff[0]), "店员的活动")

    stranger = await login(client, other.staff[0])
    store = shop.store
    bills = await client.get("/api/v1/merchant/bills", headers=stranger)
    assert bills.json() == []
    events = await client.get("/api/v1/manage/events", headers=stranger)
    assert events.json() == []
    start = clock.utc_now() + timedelta(days=2)
    refused = await client.post(
        "/api/v1/manage/events",
        json={
            "title": "别家的活动",
            "store_id": str(store.id),
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "capacity": 6,
        },
        headers=stranger | idem(),
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "NotYourStore"
    assert (await client.get("/api/v1/merchant/statements", headers=stranger)).json() == []
    hidden = await client.get(f"/api/v1/merchant/statements/{statement_id}", headers=stranger)
    assert hidden.status_code == 404
    till = await client.post(
        "/api/v1/redemptions/prepare",
        json={"store_id": str(store.id), "code": "12345678", "bill_fen": 10000},
        headers=stranger,
    )
    assert till.status_code == 403
    listed = await client.get(f"/api/v1/stores/{store.id}/redemptions", headers=stranger)
    assert listed.status_code == 403
    for page in (f"/merchant/stores/{store.id}/qr", f"/merchant/statements/{statement_id}"):
        assert (await client.get(page, headers=stranger)).status_code == 404, page
    for page in ("/merchant/bills", "/merchant/pos", "/merchant/statements", "/manage/events"):
        shown = await client.get(page, headers=stranger)
        assert shown.status_code == 200, page
        assert store.name not in shown.text, page


async def test_an_operator_may_act_on_every_store(db):
    operator = await new_user(db, role=Role.operator, name="运营")
    member = await new_user(db, name="会员")
    shop = await new_shop(db)
    async with db.session_scope() as session:
        assert await access.store_ids_for(session, operator) is None
        assert await access.merchant_ids_for(session, operator) is None
        assert await access.may_act_at(session, operator, shop.store.id)
        assert await access.store_ids_for(session, member) == []
        assert await access.merchant_ids_for(session, member) == []
        assert not await access.may_act_at(session, member, shop.store.id)
