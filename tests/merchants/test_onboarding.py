from __future__ import annotations

import uuid

from redcard.models import Role, Terminal
from tests.fixtures.factories import (
    code_for,
    count,
    create_operator,
    idem,
    login,
    new_card_holder,
    new_till_shop,
    new_user,
    till,
)

STORE = {
    "name": "老吉士酒家",
    "category": "food",
    "district": "徐汇区",
    "address": "天平路 41 号",
    "lat": 31.2062,
    "lng": 121.4436,
    "opening_hours": "11:00-21:30",
    "discount_bp": 1500,
    "discount_cap_fen": 5000,
    "min_bill_fen": 2000,
    "excluded_categories": ["酒水"],
    "exclusive_to_members": True,
}


async def _apply(client, db):
    owner = await new_user(db, role=Role.merchant_staff, name="老板")
    headers = await login(client, owner)
    body = {"name": "老吉士", "contact_name": "王先生", "contact_phone": "13712345678"}
    applied = await client.post(
        "/api/v1/merchant/applications", json=body | {"stores": [STORE]}, headers=headers | idem()
    )
    assert applied.status_code == 201, applied.text
    return owner, headers, applied.json()


async def _operator(client, db):
    async with db.session_scope() as session:
        op = await create_operator(session)
    return await login(client, op)


async def test_approved_application_puts_stores_live_and_the_card_works(client, db):
    owner, headers, merchant = await _apply(client, db)
    assert merchant["status"] == "pending"
    assert merchant["stores"][0]["status"] == "pending"
    assert merchant["stores"][0]["exclusive_to_members"] is True
    op = await _operator(client, db)
    pending = await client.get("/api/v1/operator/merchants?status=pending", headers=op)
    assert [m["id"] for m in pending.json()] == [merchant["id"]]
    approved = await client.post(
        f"/api/v1/operator/merchants/{merchant['id']}/approve", headers=op | idem()
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["stores"][0]["status"] == "live"
    again = await client.post(
        f"/api/v1/operator/merchants/{merchant['id']}/reject",
        json={"reason": "late"},
        headers=op | idem(),
    )
    assert again.status_code == 409

    store_id = merchant["stores"][0]["id"]
    term = await client.post(
        f"/api/v1/merchant/stores/{store_id}/terminals",
        json={"name": "收银台 1"},
        headers=headers | idem(),
    )
    assert term.status_code == 201
    api_key = term.json()["api_key"]
    async with db.session_scope() as session:
        stored = await session.get_one(Terminal, uuid.UUID(term.json()["id"]))
        assert api_key not in stored.api_key_hash  # only the hash is kept

    member = await new_card_holder(db)
    preview = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_yuan": "500"},
        headers={"X-Terminal-Key": api_key},
    )
    assert preview.status_code == 201, preview.text
    spare = await client.post(
        f"/api/v1/merchant/stores/{store_id}/terminals",
        json={"name": "备用"},
        headers=headers | idem(),
    )
    revoked = await client.post(
        f"/api/v1/merchant/terminals/{spare.json()['id']}/revoke", headers=headers
    )
    assert revoked.status_code == 204
    refused = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_yuan": "500"},
        headers={"X-Terminal-Key": spare.json()["api_key"]},
    )
    assert refused.status_code == 401
    assert preview.json()["discount_fen"] == 5000  # 15% of ¥500 = ¥75, capped at ¥50
    below = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_yuan": "19.99"},
        headers={"X-Terminal-Key": api_key},
    )
    assert below.status_code == 409
    assert below.json()["error"] == "BelowMinimumBill"


async def test_rejection_keeps_the_reason_and_closes_stores(client, db):
    _, headers, merchant = await _apply(client, db)
    op = await _operator(client, db)
    rejected = await client.post(
        f"/api/v1/operator/merchants/{merchant['id']}/reject",
        json={"reason": "地址无法核实"},
        headers=op | idem(),
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "地址无法核实"
    assert rejected.json()["stores"][0]["status"] == "closed"
    mine = await client.get("/api/v1/merchant", headers=headers)
    assert mine.json()["rejection_reason"] == "地址无法核实"


async def test_discount_below_ten_percent_is_refused(client, db):
    owner = await new_user(db, role=Role.merchant_staff)
    headers = await login(client, owner)
    body = {"name": "x", "contact_name": "y", "contact_phone": "13712345678"}
    bad = await client.post(
        "/api/v1/merchant/applications",
        json=body | {"stores": [STORE | {"discount_bp": 500}]},
        headers=headers | idem(),
    )
    assert bad.status_code == 422
    assert bad.json()["error"] == "InvalidInput"


async def test_paused_store_and_leaving_stop_the_discount(client, db):
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    owner = await login(client, shop.staff)
    paused = await client.post(
        f"/api/v1/merchant/stores/{shop.store.id}/pause", headers=owner | idem()
    )
    assert paused.json()["status"] == "paused"
    refused = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_fen": 1000},
        headers=till(shop),
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "StoreNotLive"
    await client.post(f"/api/v1/merchant/stores/{shop.store.id}/resume", headers=owner | idem())
    ok = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_fen": 1000},
        headers=till(shop),
    )
    assert ok.status_code == 201
    left = await client.post("/api/v1/merchant/leave", headers=owner | idem())
    assert left.json()["status"] == "left"
    assert left.json()["stores"][0]["status"] == "closed"
    commit = await client.post(
        f"/api/v1/redemptions/{ok.json()['id']}/commit", headers=till(shop) | idem()
    )
    assert commit.status_code == 409
    assert commit.json()["error"] == "StoreNotLive"


async def test_staff_of_store_a_cannot_work_or_read_store_b(client, db):
    a = await new_till_shop(db, name="A")
    b = await new_till_shop(db, name="B")
    member = await new_card_holder(db)
    staff_a = await login(client, a.staff)
    at_b = await client.post(
        "/api/v1/redemptions/prepare",
        json={"store_id": str(b.store.id), "code": await code_for(db, member), "bill_fen": 1000},
        headers=staff_a,
    )
    assert at_b.status_code == 403
    terminal_a_at_b = await client.post(
        "/api/v1/redemptions/prepare",
        json={"store_id": str(b.store.id), "code": await code_for(db, member), "bill_fen": 1000},
        headers=till(a),
    )
    assert terminal_a_at_b.status_code == 403
    in_b = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_fen": 1000},
        headers=till(b),
    )
    rid = in_b.json()["id"]
    assert (await client.get(f"/api/v1/redemptions/{rid}", headers=staff_a)).status_code == 404
    assert (await client.get(f"/api/v1/redemptions/{rid}", headers=till(a))).status_code == 404
    listed = await client.get(f"/api/v1/stores/{b.store.id}/redemptions", headers=staff_a)
    assert listed.status_code == 403
    commit = await client.post(f"/api/v1/redemptions/{rid}/commit", headers=staff_a | idem())
    assert commit.status_code == 404
    pause = await client.post(
        f"/api/v1/merchant/stores/{b.store.id}/pause", headers=staff_a | idem()
    )
    assert pause.status_code == 404
    assert await count(db, Terminal) == 2


async def test_a_member_never_sees_another_members_redemptions(client, db):
    shop = await new_till_shop(db)
    alice = await new_card_holder(db, name="甲")
    bob = await new_card_holder(db, name="乙")
    p = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, alice), "bill_fen": 8000},
        headers=till(shop),
    )
    await client.post(f"/api/v1/redemptions/{p.json()['id']}/commit", headers=till(shop) | idem())
    bob_h = await login(client, bob)
    assert (await client.get("/api/v1/me/redemptions", headers=bob_h)).json() == []
    assert (await client.get("/api/v1/me/code", headers=bob_h)).json()["savings_fen"] == 0
    assert (
        await client.get(f"/api/v1/redemptions/{p.json()['id']}", headers=bob_h)
    ).status_code == 403
    alice_h = await login(client, alice)
    mine = (await client.get("/api/v1/me/redemptions", headers=alice_h)).json()
    assert [r["id"] for r in mine] == [p.json()["id"]]
