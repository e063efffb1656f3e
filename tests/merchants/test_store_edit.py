"""A merchant's own store page and its API: opening hours per weekday (breaks, overnight),
the time zone "open now" is read in, the description; only the owner changes them, their
staff look, anyone else finds no such store; a refused edit writes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from redcard.discovery import hours
from redcard.kit import time as clock
from redcard.merchants.schemas import StoreCreate
from redcard.models import Merchant, Store
from tests.fixtures.factories import idem, login, new_shop

CSRF = "csrf-token-for-tests"
HTML = {"accept": "text/html"}


def week_form(**fields: str) -> dict[str, str]:
    """The edit form: Monday 10:00-14:00 and 17:00-22:00 (a break), Friday 17:00-02:00
    (overnight), other days closed; `fields` on top."""
    form = {"csrf": CSRF, "mode": "week", "timezone": "", "description": ""}
    for day in range(7):
        for n in range(3):
            form[f"d{day}_{n}_open"] = form[f"d{day}_{n}_close"] = ""
    form |= {"d0_0_open": "10:00", "d0_0_close": "14:00", "d0_1_open": "17:00"}
    form |= {"d0_1_close": "22:00", "d4_0_open": "17:00", "d4_0_close": "02:00"}
    return form | fields


async def store_row(db, store_id) -> Store:
    async with db.session_scope() as session:
        return await session.get_one(Store, store_id)


async def test_the_owner_saves_hours_zone_and_description_and_sees_them(client, db):
    shop = await new_shop(db, name="夜猫子")
    owner = HTML | await login(client, shop.owner)
    client.cookies.set("redcard_csrf", CSRF)
    url = f"/merchant/stores/{shop.store.id}/edit"

    dashboard = await client.get("/merchant", headers=owner)
    assert f'href="{url}"' in dashboard.text
    assert "未填写营业时间" in dashboard.text

    form = week_form(timezone="Europe/London", description="  手冲咖啡与夜宵。 ")
    saved = await client.post(url, data=form, headers=owner)
    assert saved.status_code == 303, saved.text
    store = await store_row(db, shop.store.id)
    assert store.opening_hours == "Mo 10:00-14:00,17:00-22:00; Fr 17:00-02:00"
    assert store.hours_generated is False
    assert store.timezone == "Europe/London"
    assert store.description == "手冲咖啡与夜宵。"

    page = await client.get(saved.headers["location"], headers=owner)
    assert "已保存" in page.text
    assert 'name="d0_1_open" value="17:00"' in page.text  # the form shows what is stored
    assert 'name="d4_0_close" value="02:00"' in page.text
    assert "至次日 02:00" in page.text  # Friday's range runs overnight, and says so
    assert '<option value="Europe/London" selected>' in page.text
    assert "手冲咖啡与夜宵。</textarea>" in page.text
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "周一 10:00–14:00 , 17:00–22:00" in words
    assert "周五 17:00–次日 02:00" in words
    assert "周二–周四 休息" in words

    dashboard = await client.get("/merchant", headers=owner)
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dashboard.text))
    assert "周五 17:00–次日 02:00" in words  # the dashboard shows the hours in words


async def test_open_now_on_the_page_is_read_in_the_store_s_zone(client, db):
    shop = await new_shop(db)
    async with db.session_scope() as session:
        store = await session.get_one(Store, shop.store.id)
        store.opening_hours, store.timezone = "10:00-22:00", "Europe/London"
    owner = HTML | await login(client, shop.owner)
    url = f"/merchant/stores/{shop.store.id}/edit"
    with clock.in_zone("Asia/Shanghai"):
        with clock.frozen(datetime(2026, 12, 1, 2, 30, tzinfo=UTC)):  # 10:30 in Shanghai
            assert 'data-open="no"' in (await client.get(url, headers=owner)).text
        with clock.frozen(datetime(2026, 12, 1, 12, 0, tzinfo=UTC)):  # 12:00 in London
            assert 'data-open="yes"' in (await client.get(url, headers=owner)).text


async def test_bad_hours_show_the_reason_keep_what_was_typed_and_write_nothing(client, db):
    shop = await new_shop(db)
    owner = HTML | await login(client, shop.owner)
    client.cookies.set("redcard_csrf", CSRF)
    url = f"/merchant/stores/{shop.store.id}/edit"
    overlapping = week_form(d0_1_open="13:00", description="新介绍")
    refused = await client.post(url, data=overlapping, headers=owner)
    assert refused.status_code == 422
    assert "同一天的两段营业时间重叠了" in refused.text
    assert 'name="d0_1_open" value="13:00"' in refused.text  # as typed
    assert "新介绍</textarea>" in refused.text
    half = await client.post(url, data=week_form(d4_0_close=""), headers=owner)
    assert half.status_code == 422
    assert "时间请写成 时:分" in half.text
    zone = await client.post(url, data=week_form(timezone="Mars/Olympus"), headers=owner)
    assert zone.status_code == 422
    assert "请从列表中选择时区" in zone.text
    text = await client.post(url, data=week_form(mode="text", osm="sometimes"), headers=owner)
    assert text.status_code == 422
    assert "无法识别这个营业时间" in text.text
    store = await store_row(db, shop.store.id)
    assert (store.opening_hours, store.timezone, store.description) == (None, None, None)


async def test_advanced_text_is_saved_and_hours_the_week_cannot_say_are_kept(client, db):
    shop = await new_shop(db)
    owner = HTML | await login(client, shop.owner)
    client.cookies.set("redcard_csrf", CSRF)
    url = f"/merchant/stores/{shop.store.id}/edit"
    osm = "Mo-Fr 10:00-20:00;\r\nPH off"
    saved = await client.post(url, data=week_form(mode="text", osm=osm), headers=owner)
    assert saved.status_code == 303
    assert (await store_row(db, shop.store.id)).opening_hours == "Mo-Fr 10:00-20:00; PH closed"
    page = await client.get(url, headers=owner)
    assert "当前营业时间包含上面每周表格无法表示的内容" in page.text
    assert "<details open>" in page.text


async def test_copy_monday_fills_the_working_week_without_saving(client, db):
    shop = await new_shop(db)
    owner = HTML | await login(client, shop.owner)
    client.cookies.set("redcard_csrf", CSRF)
    url = f"/merchant/stores/{shop.store.id}/edit"
    copied = await client.post(url, data=week_form(copy="monday"), headers=owner)
    assert copied.status_code == 200
    for day in range(1, 5):
        assert f'name="d{day}_1_close" value="22:00"' in copied.text
    assert 'name="d5_0_open" value=""' in copied.text
    assert (await store_row(db, shop.store.id)).opening_hours is None


async def test_staff_look_and_other_merchants_find_no_such_store(client, db):
    shop = await new_shop(db)
    other = await new_shop(db, name="隔壁")
    url = f"/merchant/stores/{shop.store.id}/edit"
    client.cookies.set("redcard_csrf", CSRF)

    staff = HTML | await login(client, shop.staff[0])
    page = await client.get(url, headers=staff)
    assert page.status_code == 200
    assert "只有商户的店主可以修改门店信息" in page.text
    assert ">保存</button>" not in page.text
    assert (await client.post(url, data=week_form(), headers=staff)).status_code == 404

    stranger = HTML | await login(client, other.owner)
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.post(url, data=week_form(), headers=stranger)).status_code == 404
    api = await login(client, other.owner)
    patched = await client.patch(
        f"/api/v1/merchant/stores/{shop.store.id}",
        json={"description": "不是我的店"},
        headers=api | idem(),
    )
    assert patched.status_code == 404
    assert (await store_row(db, shop.store.id)).description is None


async def test_the_api_edits_a_store_once_per_idempotency_key(client, db):
    shop = await new_shop(db)
    api = await login(client, shop.owner)
    url = f"/api/v1/merchant/stores/{shop.store.id}"
    body = {"opening_hours": "Mo-Fr 10:00-14:00,17:00-22:00", "timezone": "Europe/London"}
    key = idem()
    first = await client.patch(url, json=body, headers=api | key)
    assert first.status_code == 200, first.text
    assert first.json()["opening_hours"] == "Mo-Fr 10:00-14:00,17:00-22:00"
    assert first.json()["timezone"] == "Europe/London"
    async with db.session_scope() as session:  # changed meanwhile: a replay does not undo it
        (await session.get_one(Store, shop.store.id)).timezone = None
    again = await client.patch(url, json=body, headers=api | key)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert (await store_row(db, shop.store.id)).timezone is None
    reused = await client.patch(url, json={"description": "别的"}, headers=api | key)
    assert reused.status_code == 409
    assert (await client.patch(url, json=body, headers=api)).status_code == 422  # no key

    week = {"week": {"4": [["17:00", "02:00"]], "5": [["10:00", "22:00"]]}}
    by_week = await client.patch(url, json=week, headers=api | idem())
    assert by_week.status_code == 200, by_week.text
    assert hours.to_week(by_week.json()["opening_hours"])[4] == [("17:00", "02:00")]
    assert by_week.json()["hours_generated"] is False


async def test_the_api_refuses_bad_edits_and_writes_none_of_them(client, db):
    shop = await new_shop(db)
    api = await login(client, shop.owner)
    url = f"/api/v1/merchant/stores/{shop.store.id}"
    for body in (
        {"opening_hours": "Mo 25:00-26:00", "description": "改了"},
        {"week": {"0": [["10:00", "14:00"], ["12:00", "18:00"]]}, "description": "改了"},
        {"timezone": "Asia/Nowhere", "description": "改了"},
        {"description": "长" * 1001},
        {"opening_hours": "10:00-22:00", "week": {"0": [["10:00", "22:00"]]}},
    ):
        refused = await client.patch(url, json=body, headers=api | idem())
        assert refused.status_code == 422, body
    store = await store_row(db, shop.store.id)
    assert (store.opening_hours, store.timezone, store.description) == (None, None, None)
    cleared = await client.patch(url, json={"opening_hours": ""}, headers=api | idem())
    assert cleared.status_code == 200
    assert cleared.json()["opening_hours"] is None


async def test_an_application_s_hours_must_be_readable(client, db):
    assert StoreCreate.model_validate(_store_body("10:00-22:00")).opening_hours == "10:00-22:00"
    assert StoreCreate.model_validate(_store_body("")).opening_hours is None
    shop = await new_shop(db)
    async with db.session_scope() as session:  # the owner's merchant left, so they may apply
        merchant = await session.scalar(select(Merchant).where(Merchant.id == shop.merchant.id))
        merchant.status = "left"
    api = await login(client, shop.owner)
    body = {"name": "新店", "contact_name": "老板", "contact_phone": "13800000000"}
    refused = await client.post(
        "/api/v1/merchant/applications",
        json=body | {"stores": [_store_body("sometimes")]},
        headers=api | idem(),
    )
    assert refused.status_code == 422
    assert hours.UNREADABLE in refused.text


def _store_body(opening_hours: str) -> dict[str, object]:
    return {
        "name": "新店",
        "category": "cafe",
        "lat": 31.2,
        "lng": 121.4,
        "opening_hours": opening_hours,
        "discount_bp": 1000,
    }


async def test_hours_stored_before_they_were_checked_are_shown_to_fix(client, db):
    shop = await new_shop(db)
    async with db.session_scope() as session:
        (await session.get_one(Store, shop.store.id)).opening_hours = "daily, ask at the door"
    owner = HTML | await login(client, shop.owner)
    client.cookies.set("redcard_csrf", CSRF)
    url = f"/merchant/stores/{shop.store.id}/edit"
    page = await client.get(url, headers=owner)
    assert page.status_code == 200
    assert ">daily, ask at the door</textarea>" in page.text  # in the text box, to put right
    assert "当前营业时间包含上面每周表格无法表示的内容" in page.text
    dashboard = await client.get("/merchant", headers=owner)
    assert "daily, ask at the door" in dashboard.text
    long = await client.post(url, data=week_form(description="长" * 2500), headers=owner)
    assert long.status_code == 422
    assert (await store_row(db, shop.store.id)).description is None
