"""Adding a companion in Chromium at phone size: the holder invites by phone from "my card",
the companion accepts in 我的 → 亲友卡 and sees their own member code on the shared card."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.fixtures.browser import PHONE, log_in, screenshot_path
from tests.fixtures.factories import new_card_holder, new_user

pytestmark = pytest.mark.browser


async def test_holder_invites_and_companion_accepts_and_sees_the_code(
    page: Page, browser: Browser, live_server, db, backend
):
    primary = await new_card_holder(db, name="大红", trial=False)
    friend = await new_user(db, name="阿花")

    await log_in(page, f"{live_server.url}/login?next=/card", primary.phone)
    await expect(page).to_have_url(re.compile(r"/card$"))
    await page.locator("#companion-block").get_by_role("link").click()
    await expect(page).to_have_url(re.compile(r"/card/companion$"))
    await page.get_by_label("对方的手机号").fill(friend.phone)
    await page.get_by_role("button", name="邀请", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("邀请已发出")
    await expect(page.locator(".companion-status")).to_contain_text("已邀请，等待对方接受")

    other = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    other.set_default_timeout(15_000)
    companion = await other.new_page()
    try:
        await log_in(companion, f"{live_server.url}/login?next=/me", friend.phone)
        await expect(companion).to_have_url(re.compile(r"/me$"))
        await companion.locator("#companion-link").get_by_role("link").click()
        invitation = companion.locator(".invitation")
        await expect(invitation).to_contain_text(f"大** ({primary.phone[-4:]}) 邀请你共用")
        await invitation.get_by_role("button", name="接受并获取我的会员码").click()
        await expect(companion).to_have_url(re.compile(r"/card$"))
        await expect(companion.locator(".companion-card")).to_contain_text("大**")
        await expect(companion.locator("#code-digits")).to_have_text(
            re.compile(r"^\d{4} \d{3} \d{3} \d{3}$")
        )
        await expect(companion.locator("#code-qr svg")).to_be_visible()
        width = await companion.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # nothing wider than the phone
        await companion.screenshot(
            path=str(screenshot_path(f"companion-card-{backend}.png")), full_page=True
        )
    finally:
        await other.close()

    await page.reload()
    await expect(page.locator(".companion-status")).to_contain_text("已接受")
    await page.screenshot(
        path=str(screenshot_path(f"companion-page-{backend}.png")), full_page=True
    )
    await page.goto(f"{live_server.url}/card")
    await expect(page.locator(".companion-summary")).to_have_text("已与 阿花 共用")
