from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from redcard.models import Merchant, MerchantStatus, Store, StoreStatus
from tests.fixtures.factories import PASSWORD, count, create_operator


async def _csrf(client, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def test_apply_review_and_run_a_store_through_the_pages(client, db):
    client.cookies.clear()
    csrf = await _csrf(client, "/merchant/apply")
    form = {
        "csrf": csrf,
        "phone": "13711112222",
        "display_name": "王老板",
        "password": PASSWORD,
        "business_name": "王家沙",
        "contact_name": "王老板",
        "contact_phone": "13711112222",
        "store_name": "王家沙（南京西路店）",
        "category": "food",
        "district": "静安区",
        "address": "南京西路 805 号",
        "lat": "31.2291",
        "lng": "121.4598",
        "opening_hours": "07:00-21:00",
        "discount_percent": "12",
        "cap_yuan": "",
        "min_bill_yuan": "20",
        "excluded": "外卖，酒水",
        "exclusive": "yes",
    }
    bad = await client.post("/merchant/apply", data=form | {"discount_percent": "5"})
    assert bad.status_code == 422
    assert "discount_bp" in bad.text
    assert await count(db, Merchant) == 0
    done = await client.post("/merchant/apply", data=form)
    assert done.status_code == 303, done.text
    dash = await client.get("/merchant")
    assert "王家沙（南京西路店）" in dash.text
    assert 'data-merchant-status="pending"' in dash.text
    async with db.session_scope() as session:
        store = (await session.execute(select(Store))).scalar_one()
        assert store.discount_bp == 1200
        assert store.min_bill_fen == 2000
        assert store.excluded_categories == "外卖, 酒水"
        assert store.exclusive_to_members is True

    owner_cookies = dict(client.cookies)
    client.cookies.clear()
    async with db.session_scope() as session:
        op = await create_operator(session)
    csrf = await _csrf(client, "/login")
    await client.post("/login", data={"csrf": csrf, "phone": op.phone, "password": PASSWORD})
    review = await client.get("/operator/merchants")
    assert "王家沙" in review.text
    merchant_id = re.search(r'data-merchant="([^"]+)"', review.text).group(1)
    csrf = client.cookies["redcard_csrf"]
    empty = await client.post(f"/operator/merchants/{merchant_id}/reject", data={"csrf": csrf})
    assert empty.status_code == 422
    ok = await client.post(f"/operator/merchants/{merchant_id}/approve", data={"csrf": csrf})
    assert ok.status_code == 303
    async with db.session_scope() as session:
        assert (await session.get_one(Merchant, uuid.UUID(merchant_id))).status == (
            MerchantStatus.approved
        )
        assert (await session.get_one(Store, store.id)).status == StoreStatus.live

    client.cookies.clear()
    client.cookies.update(owner_cookies)
    csrf = await _csrf(client, "/merchant")
    key_page = await client.post(
        f"/merchant/stores/{store.id}/terminals",
        data={"csrf": csrf, "name": "POS", "idempotency_key": "form-key-123456"},
    )
    assert "rct_" in key_page.text
    again = await client.post(
        f"/merchant/stores/{store.id}/terminals",
        data={"csrf": csrf, "name": "POS", "idempotency_key": "form-key-123456"},
    )
    assert "rct_" not in again.text  # shown once
    paused = await client.post(f"/merchant/stores/{store.id}/pause", data={"csrf": csrf})
    assert paused.status_code == 303
    async with db.session_scope() as session:
        assert (await session.get_one(Store, store.id)).status == StoreStatus.paused
    pos = await client.get("/merchant/pos")
    assert pos.status_code == 200
    assert 'id="pos-code"' in pos.text
    client.cookies.set("redcard_lang", "en")
    en = await client.get("/merchant/pos")
    assert "Member code" in en.text
    client.cookies.set("redcard_lang", "zh_CN")
    zh = await client.get("/merchant/pos")
    assert "会员码" in zh.text


async def test_the_terms_refuse_ambiguous_amounts_and_percentages(client, db):
    """A decimal comma is refused with a 422 that says why; nothing is written."""
    client.cookies.clear()
    csrf = await _csrf(client, "/merchant/apply")
    form = {
        "csrf": csrf,
        "phone": "13711113333",
        "display_name": "李老板",
        "password": PASSWORD,
        "business_name": "李记",
        "contact_name": "李老板",
        "contact_phone": "13711113333",
        "store_name": "李记（淮海路店）",
        "category": "food",
        "lat": "31.2200",
        "lng": "121.4600",
        "discount_percent": "12.5",
        "cap_yuan": "",
        "min_bill_yuan": "",
    }
    for change, reason in (  # the pages speak Chinese by default
        ({"discount_percent": "12,5"}, "百分比请用“.”作小数点"),
        ({"discount_percent": "12.345"}, "最多两位小数的百分比"),
        ({"discount_percent": "1e1"}, "最多两位小数的百分比"),
        ({"cap_yuan": "12,50"}, "“,”有歧义"),
        ({"min_bill_yuan": ",5"}, "“,”有歧义"),
        ({"min_bill_yuan": "5,"}, "“,”有歧义"),
    ):
        bad = await client.post("/merchant/apply", data=form | change)
        assert bad.status_code == 422, change
        assert reason in bad.text, change
    assert await count(db, Merchant) == 0
    assert await count(db, Store) == 0
    done = await client.post("/merchant/apply", data=form | {"cap_yuan": "1,000"})
    assert done.status_code == 303, done.text
    async with db.session_scope() as session:
        store = (await session.execute(select(Store))).scalar_one()
        assert (store.discount_bp, store.discount_cap_fen) == (1250, 100000)
