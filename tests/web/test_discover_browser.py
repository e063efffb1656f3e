"""The 发现 tab in Chromium on a 390×844 phone, on both databases: a member finds a store by
name near a position, filters it out and back, opens the map with no tile server (the list
keeps working and the page says so), opens the store, and reviews the purchase they made
there, once."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from tests.fixtures.browser import log_in, screenshot_path
from tests.fixtures.factories import new_card_holder, new_till_shop
from tests.fixtures.factories.merchants import code_for, till

pytestmark = pytest.mark.browser


async def fits_the_phone(page: Page) -> bool:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return bool(overflow <= 0)


async def test_a_member_finds_a_store_on_the_list_and_map_and_reviews_a_purchase(
    page: Page, live_server, client, db, backend
):
    name = f"探店小馆{uuid.uuid4().hex[:6]}"
    shop = await new_till_shop(db, name=name, discount_bp=1500, cap_fen=5000)
    member = await new_card_holder(db, trial=False)
    prepared = await client.post(  # a real purchase at the till (in-process, same database)
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_yuan": "120"},
        headers=till(shop),
    )
    assert prepared.status_code == 201, prepared.text
    committed = await client.post(
        f"/api/v1/redemptions/{prepared.json()['id']}/commit",
        headers=till(shop) | {"Idempotency-Key": f"discover-{uuid.uuid4().hex}"},
    )
    assert committed.status_code == 200, committed.text

    await log_in(page, live_server.url + "/login?next=/%3Flat%3D31.23%26lng%3D121.47", member.phone)
    await expect(page.get_by_text("你附近")).to_be_visible()
    await page.get_by_label("搜索").fill(name)
    await page.get_by_role("button", name="查看门店").click()
    item = page.locator(f"[data-store='{shop.store.id}']")
    await expect(item).to_contain_text("8.5折")
    await expect(item).to_contain_text("最多减 ¥50.00")
    await expect(item).to_contain_text(re.compile(r"\d+ m"))
    assert await fits_the_phone(page)
    await page.screenshot(path=str(screenshot_path(f"discover-list-{backend}.png")))

    # 只看精选: the store has no badge, so it leaves the list, and comes back
    await page.get_by_text("筛选", exact=True).click()  # the filters fold away on a phone
    await page.get_by_label("只看精选").check()
    await page.get_by_role("button", name="查看门店").click()
    await expect(item).to_have_count(0)
    await page.get_by_label("只看精选").uncheck()
    await page.get_by_role("button", name="查看门店").click()
    await expect(item).to_have_count(1)

    # the map, with a tile server that does not answer: the page says so, the list still works
    await page.get_by_role("link", name="地图", exact=True).click()
    await expect(page.locator("[data-map-offline]")).to_contain_text("列表照常可用")
    await expect(page.locator("#map .leaflet-interactive").first).to_be_attached()
    await expect(item).to_be_visible()
    await expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")

    # the store's page: its terms, the 买单 button, and a review of the purchase made there
    await item.get_by_role("link").click()
    await expect(page).to_have_url(re.compile(rf"/stores/{shop.store.id}$"))
    await expect(page.locator(".appbar .page-title")).to_have_text(shop.store.name)
    pay = page.get_by_role("link", name="持卡买单")
    await expect(pay).to_have_attribute("href", f"/pay/{shop.store.pay_code}")
    await page.get_by_label("4★").check()
    await page.get_by_label("体验如何？").fill("生煎底脆，汤汁足")
    await page.get_by_role("button", name="发布评价").click()
    await expect(page.get_by_role("status")).to_contain_text("评价已发布")
    await expect(page.locator(".reviews")).to_contain_text("生煎底脆，汤汁足")
    await expect(page.get_by_role("button", name="发布评价")).to_have_count(0)  # one per purchase
    assert await fits_the_phone(page)
    await page.screenshot(path=str(screenshot_path(f"discover-store-{backend}.png")))
