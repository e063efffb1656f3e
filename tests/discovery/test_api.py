"""The discovery API as a client sees it: the nearby list, bad input answered with a clear 422
and nothing written, the edges of the map, and a store's public page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from redcard.discovery import search as search_module
from redcard.discovery.districts import DISTRICTS, district
from redcard.discovery.search import NearbyQuery
from redcard.errors import InvalidInput
from redcard.kit.time import utc_now
from redcard.models import IdempotencyKey, MerchantStatus, Store, StoreStatus
from tests.discovery.helpers import HOME, add_merchant, add_store, add_stores, offset, store_row
from tests.fixtures.factories import count, login, make_event, new_card_holder

URL = "/api/v1/stores/nearby"


async def test_nearby_lists_stores_with_terms_and_pages_with_a_cursor(client, db):
    for i in range(5):
        category = ("food", "cafe")[i % 2]
        await add_store(db, f"店{i}", offset(*HOME, 100 + 200 * i, 0), category=category)
    first = await client.get(URL, params={"lat": HOME[0], "lng": HOME[1], "limit": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["total"] == 5
    assert [item["name"] for item in body["items"]] == ["店0", "店1"]
    item = body["items"][0]
    assert item["distance_m"] == 100
    assert item["discount_bp"] == 1200
    assert item["open_now"] is None
    names = [item["name"] for item in body["items"]]
    cursor = body["next_cursor"]
    while cursor:
        params = {"lat": HOME[0], "lng": HOME[1], "limit": 2, "cursor": cursor}
        page = (await client.get(URL, params=params)).json()
        names += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert names == ["店0", "店1", "店2", "店3", "店4"]


async def test_a_signed_in_member_may_call_it_and_an_anonymous_caller_too(client, db):
    await add_store(db, "面馆", offset(*HOME, 100, 0))
    member = await new_card_holder(db)
    headers = await login(client, member)
    params = {"lat": HOME[0], "lng": HOME[1]}
    assert (await client.get(URL, params=params, headers=headers)).json()["total"] == 1
    assert (await client.get(URL, params=params)).json()["total"] == 1


BAD = [
    ({"lat": 91, "lng": 121}, "lat"),
    ({"lat": 31, "lng": -181}, "lng"),
    ({"lat": "nan", "lng": 121}, "lat"),
    ({"lat": 31, "lng": "inf"}, "lng"),
    ({"lat": 31, "lng": 121, "radius": 0}, "radius"),
    ({"lat": 31, "lng": 121, "radius": -5}, "radius"),
    ({"lat": 31, "lng": 121, "radius": 60_000}, "radius"),
    ({"lat": 31, "lng": 121, "limit": 0}, "limit"),
    ({"lat": 31, "lng": 121, "limit": 51}, "limit"),
    ({"lng": 121}, "lat"),
]


@pytest.mark.parametrize(("params", "field"), BAD)
async def test_bad_input_is_a_422_naming_the_field_and_nothing_is_written(
    client, db, params, field
):
    await add_store(db, "面馆", offset(*HOME, 100, 0))
    stores, keys = await count(db, Store), await count(db, IdempotencyKey)
    response = await client.get(URL, params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert any(field in d["loc"] for d in body["detail"])
    assert all(d["msg"] for d in body["detail"])
    assert (await count(db, Store), await count(db, IdempotencyKey)) == (stores, keys)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"category": "spaceship"}, "unknown category"),
        ({"cursor": "garbage!!"}, "cursor"),
        ({"cursor": "eyJvIjoxMCwicSI6ImFiYyJ9"}, "another search"),  # {"o":10,"q":"abc"}
    ],
)
async def test_unknown_category_and_bad_cursor_are_a_422_with_a_sentence(client, db, params, words):
    response = await client.get(URL, params={"lat": HOME[0], "lng": HOME[1]} | params)
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]


async def test_a_cursor_from_another_query_is_refused(client, db):
    for i in range(3):
        await add_store(db, f"店{i}", offset(*HOME, 100 * (i + 1), 0))
    params = {"lat": HOME[0], "lng": HOME[1], "limit": 1}
    cursor = (await client.get(URL, params=params)).json()["next_cursor"]
    assert cursor
    moved = params | {"lng": HOME[1] + 0.001, "cursor": cursor}
    response = await client.get(URL, params=moved)
    assert response.status_code == 422
    assert "another search" in response.json()["detail"]
    other_filter = params | {"category": "cafe", "cursor": cursor}
    assert (await client.get(URL, params=other_filter)).status_code == 422


async def test_a_radius_above_the_configured_maximum_is_refused(db):
    from redcard.config import Settings

    small = Settings(database_url="sqlite://", secret_key="x", discovery_max_radius_m=5000)
    with pytest.raises(InvalidInput, match="at most 5000 metres"):
        search_module.criteria(NearbyQuery(*HOME, radius_m=6000), small)


@pytest.mark.parametrize(
    ("lat", "lng"),
    [(89.99, 0.0), (-89.99, 45.0), (90.0, 180.0), (0.0, 179.99), (0.0, -179.99), (64.7, 10.5)],
)
async def test_the_poles_and_the_antimeridian_do_not_crash(client, db, lat, lng):
    # a store just across the antimeridian / over the pole from the asked point
    across = (lat, -179.995 if lng > 0 else 179.995) if abs(lat) < 89 else (lat, lng - 90)
    await add_store(db, "边上的店", across)
    for radius in (3000, 50_000):
        response = await client.get(URL, params={"lat": lat, "lng": lng, "radius": radius})
        assert response.status_code == 200, response.text
        found = [i["name"] for i in response.json()["items"]]
        if abs(lng) > 179 or abs(lat) > 89:
            assert found == ["边上的店"], (lat, lng, radius)


def test_a_wide_radius_uses_coarse_cells_and_the_box_when_h3_cannot_help():
    fine = search_module.covering(*HOME, 3000)
    coarse = search_module.covering(*HOME, 50_000)
    assert fine.resolution == 7
    assert coarse.resolution == 5
    assert 0 < len(coarse.cells) <= search_module.MAX_CELLS
    huge = search_module.covering(*HOME, 2_000_000)
    assert huge.resolution is None


async def test_the_store_page_shows_terms_hours_and_upcoming_events(client, db):
    store_id = await add_store(
        db,
        "小杨生煎 黄河路店",
        offset(*HOME, 100, 0),
        opening_hours="Mo-Fr 10:00-14:00,17:00-22:00; Sa,Su 10:00-22:00",
        excluded_categories="烟酒, 外卖",
        discount_cap_fen=5000,
        min_bill_fen=2000,
        curated=True,
        score=4.6,
        review_count=12,
        rating_avg=4.7,
    )
    soon = await make_event(db, title="生煎品鉴", store_id=store_id, venue=None)
    await make_event(db, title="别处的活动")
    response = await client.get(f"/api/v1/stores/{store_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "小杨生煎 黄河路店"
    assert body["merchant_name"] == "小杨生煎 黄河路店"
    assert body["excluded_categories"] == ["烟酒", "外卖"]
    assert (body["discount_cap_fen"], body["min_bill_fen"]) == (5000, 2000)
    assert body["curated"] is True
    assert body["review_count"] == 12
    assert [e["title"] for e in body["events"]] == ["生煎品鉴"]
    assert body["events"][0]["id"] == str(soon.id)
    assert len(body["week"]) == 7
    weekdays = [d for d in body["week"] if len(d["ranges"]) == 2]
    assert len(weekdays) == 5  # the lunch break splits each weekday in two


async def test_a_store_that_does_not_take_the_card_has_no_page(client, db):
    paused = await add_store(db, "暂停", HOME, status=StoreStatus.paused)
    async with db.session_scope() as session:
        left = await add_merchant(session, "已退出", MerchantStatus.left)
        (gone,) = await add_stores(session, [store_row(left, "退出的店", HOME)])
    for store_id in (paused, gone):
        response = await client.get(f"/api/v1/stores/{store_id}")
        assert response.status_code == 404


async def test_past_and_cancelled_events_are_not_upcoming(client, db):
    from redcard.kit import time as clock

    store_id = await add_store(db, "活动店", HOME)
    await make_event(db, title="下周", store_id=store_id, venue=None)
    clock.freeze(utc_now() + timedelta(days=5))
    body = (await client.get(f"/api/v1/stores/{store_id}")).json()
    assert body["events"] == []


def test_sixteen_districts_each_with_a_centre_in_shanghai():
    assert len(DISTRICTS) == 16
    assert len({d.key for d in DISTRICTS}) == 16
    for d in DISTRICTS:
        assert 30.6 < d.lat < 31.9
        assert 120.8 < d.lng < 122.1
        assert d.name_zh.endswith("区")
    assert district("xuhui").name_zh == "徐汇区"
    with pytest.raises(InvalidInput, match="unknown district"):
        district("atlantis")
