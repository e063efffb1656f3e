"""The store page in Chromium at a phone's size: the owner gives Monday a lunch break and
Friday a night running past midnight, adds a photo, saves, and sees it all in words."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.async_api import Page, expect

from redcard.discovery import hours
from redcard.models import Store
from tests.fixtures.browser import log_in, screenshot_path
from tests.fixtures.factories import new_shop

pytestmark = pytest.mark.browser


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (180, 40, 40)).save(out, "JPEG")
    return out.getvalue()


async def test_the_owner_sets_a_break_and_a_late_night_and_sees_them(
    page: Page, live_server, db, backend
):
    shop = await new_shop(db, name="深夜食堂")
    await log_in(page, f"{live_server.url}/merchant", shop.owner.phone)
    store = page.locator(f"[data-store='{shop.store.id}']")
    await expect(store.locator(".store-hours")).to_contain_text("未填写营业时间")
    await store.get_by_role("link", name="营业时间、照片和介绍").click()
    await expect(page.locator("h1")).to_have_text(shop.store.name)

    monday = page.locator(".week-day[data-day='0']")
    await monday.get_by_text("再加一段（午休后）").click()  # the second range, for after lunch
    for name, value in {
        "d0_0_open": "10:00",
        "d0_0_close": "14:00",
        "d0_1_open": "17:00",
        "d0_1_close": "22:00",
        "d4_0_open": "17:00",
        "d4_0_close": "02:00",
    }.items():
        await page.locator(f"input[name='{name}']").fill(value)
    await page.get_by_label("介绍").fill("深夜的一碗热汤面。")
    await page.get_by_role("button", name="保存", exact=True).click()

    await expect(page.get_by_role("status")).to_have_text("已保存。")
    friday = page.locator(".week-day[data-day='4']")
    await expect(friday.locator(".overnight")).to_have_text("至次日 02:00")
    summary = page.locator(".store-hours-now .hours-words")
    await expect(summary.locator("li[data-days='0']")).to_contain_text("10:00–14:00")
    await expect(summary.locator("li[data-days='0']")).to_contain_text("17:00–22:00")
    await expect(summary.locator("li[data-days='4']")).to_contain_text("17:00–次日 02:00")
    await expect(summary.locator("li[data-days='1,2,3']")).to_contain_text("休息")

    await page.get_by_label("添加照片（JPEG、PNG、WebP 或 GIF，不超过 8 MB）").set_input_files(
        {"name": "bowl.jpg", "mimeType": "image/jpeg", "buffer": photo()}
    )
    await page.get_by_role("button", name="上传").click()
    image = page.locator(".store-photos img").first
    await expect(image).to_be_visible()
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 800
    await page.screenshot(path=str(screenshot_path(f"store-edit-{backend}.png")), full_page=True)

    async with db.session_scope() as session:
        saved = await session.get_one(Store, shop.store.id)
    assert saved.opening_hours == "Mo 10:00-14:00,17:00-22:00; Fr 17:00-02:00"
    assert saved.description == "深夜的一碗热汤面。"
    assert saved.photos_version is not None
    assert hours.to_week(saved.opening_hours)[4] == [("17:00", "02:00")]

    await page.goto(f"{live_server.url}/merchant")
    await expect(store.locator(".store-hours")).to_contain_text("17:00–次日 02:00")
