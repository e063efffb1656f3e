"""The 发现 tab and store pages over HTTP: a district's stores, a shared position, filters that
say what they did, bad input answered on the page, a store's terms and its 买单 link, a paused
store gone, and reviews only for a member's own purchase."""

from __future__ import annotations

import re
import uuid

import httpx

from redcard.models import Store, StoreStatus
from tests.fixtures.factories import PASSWORD, new_card_holder, new_till_shop
from tests.fixtures.factories.merchants import code_for, till

CSRF = "csrf-token-for-tests"
HTML = {"Accept": "text/html"}


async def web_login(client: httpx.AsyncClient, phone: str) -> None:
    client.cookies.set("redcard_csrf", CSRF)
    response = await client.post(
        "/login", data={"csrf": CSRF, "phone": phone, "password": PASSWORD}
    )
    assert response.status_code == 303


async def buy_at(client: httpx.AsyncClient, db, shop, member) -> str:
    """A committed purchase of `member` at the shop's till; its redemption id."""
    prepared = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_yuan": "88"},
        headers=till(shop),
    )
    assert prepared.status_code == 201, prepared.text
    rid = prepared.json()["id"]
    done = await client.post(
        f"/api/v1/redemptions/{rid}/commit",
        headers=till(shop) | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert done.status_code == 200, done.text
    return str(rid)


def idempotency_key(page: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert match
    return match.group(1)


async def test_a_visitor_sees_stores_near_a_position_with_their_deal(client, db):
    name = f"发现面馆{uuid.uuid4().hex[:6]}"
    shop = await new_till_shop(db, name=name, discount_bp=1200, min_bill_fen=3000)
    client.cookies.clear()
    page = await client.get("/", params={"lat": "31.23", "lng": "121.47", "q": name}, headers=HTML)
    assert page.status_code == 200
    item = page.text[page.text.index(f'data-store="{shop.store.id}"') :]
    assert "8.8折" in item[:2000]
    assert "满 ¥30.00 可用" in item[:2000]
    assert "你附近" in page.text
    assert "持卡在这些门店至少享 9折" in page.text  # a visitor is told what the card gives
    assert "openstreetmap.org/copyright" in page.text
    # curated only: this store has no badge
    curated = await client.get(
        "/", params={"lat": "31.23", "lng": "121.47", "q": name, "curated": "1"}, headers=HTML
    )
    assert f'data-store="{shop.store.id}"' not in curated.text


async def test_bad_positions_are_answered_on_the_page_with_a_district_instead(client, db):
    client.cookies.clear()
    for lat, lng in (("91", "121"), ("31", "-181"), ("nan", "121"), ("north", "east")):
        page = await client.get("/", params={"lat": lat, "lng": lng}, headers=HTML)
        assert page.status_code == 422, (lat, lng)
        assert 'role="alert"' in page.text
        assert 'name="district"' in page.text  # the district picker, to carry on
    unknown = await client.get("/", params={"district": "atlantis"}, headers=HTML)
    assert unknown.status_code == 422


async def test_a_paused_store_has_no_page_and_leaves_the_list(client, db):
    name = f"暂停小店{uuid.uuid4().hex[:6]}"
    shop = await new_till_shop(db, name=name, status=StoreStatus.paused)
    client.cookies.clear()
    page = await client.get("/", params={"lat": "31.23", "lng": "121.47", "q": name}, headers=HTML)
    assert f'data-store="{shop.store.id}"' not in page.text
    assert (await client.get(f"/stores/{shop.store.id}", headers=HTML)).status_code == 404


async def test_only_the_buyer_reviews_a_purchase_and_only_once(client, db):
    shop = await new_till_shop(db, name=f"评价小馆{uuid.uuid4().hex[:6]}")
    buyer = await new_card_holder(db, trial=False)
    other = await new_card_holder(db, name="小白", trial=False)
    rid = await buy_at(client, db, shop, buyer)

    client.cookies.clear()
    await web_login(client, other.phone)
    page = (await client.get(f"/stores/{shop.store.id}", headers=HTML)).text
    assert "发布评价" not in page  # no purchase here, no form
    forged = await client.post(
        f"/stores/{shop.store.id}/reviews",
        data={
            "csrf": CSRF,
            "idempotency_key": uuid.uuid4().hex,
            "redemption_id": rid,
            "stars": "1",
            "body": "没来过",
        },
    )
    assert forged.status_code in (403, 404, 409, 422)
    assert "没来过" not in (await client.get(f"/stores/{shop.store.id}")).text

    client.cookies.clear()
    await web_login(client, buyer.phone)
    page = (await client.get(f"/stores/{shop.store.id}", headers=HTML)).text
    assert "发布评价" in page
    assert f'value="{rid}"' in page
    form = {"csrf": CSRF, "idempotency_key": idempotency_key(page), "redemption_id": rid}
    bad = await client.post(f"/stores/{shop.store.id}/reviews", data=form | {"stars": "6"})
    assert bad.status_code == 422
    assert "生煎" not in bad.text
    done = await client.post(
        f"/stores/{shop.store.id}/reviews", data=form | {"stars": "5", "body": "生煎一绝"}
    )
    assert done.status_code == 303
    page = (await client.get(done.headers["location"], headers=HTML)).text
    assert "生煎一绝" in page
    assert "发布评价" not in page
    again = await client.post(
        f"/stores/{shop.store.id}/reviews",
        data=form | {"idempotency_key": uuid.uuid4().hex, "stars": "1", "body": "再评一次"},
    )
    assert again.status_code == 409
    async with db.session_scope() as session:
        store = await session.get_one(Store, shop.store.id)
        assert store.review_count == 1
        assert store.rating_avg == 5


async def test_the_page_lists_what_the_api_answers_in_the_same_order(client, db):
    prefix = f"同序{uuid.uuid4().hex[:4]}"
    for n, bp in enumerate((1000, 1500, 2000)):
        await new_till_shop(db, name=f"{prefix}{n}", discount_bp=bp)
    client.cookies.clear()
    params = {"lat": "31.23", "lng": "121.47", "q": prefix, "radius": "3"}
    api = await client.get("/api/v1/stores/nearby", params=params | {"radius": "3000"})
    assert api.status_code == 200
    from_api = [item["store_id"] for item in api.json()["items"]]
    assert len(from_api) == 3
    page = await client.get("/", params=params, headers=HTML)
    assert re.findall(r'data-store="([0-9a-f-]{36})"', page.text) == from_api
