"""Auto-renew in Chromium on a phone (390×844), on both databases: from "my card" the member
reads the notice (price, first charge date, how to turn it off), consents, signs the payment
agreement on the channel's page, sees auto-renew on with the next charge, and turns it off."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from redcard.models import MandateState, PaymentMandate
from tests.fixtures.browser import log_in, screenshot_path
from tests.fixtures.factories import new_card_holder
from tests.web.test_discover_browser import fits_the_phone

pytestmark = pytest.mark.browser


async def test_a_member_turns_auto_renew_on_with_the_notice_and_a_mandate(
    page: Page, live_server, db, backend
):
    member = await new_card_holder(db, trial=False)
    await log_in(page, live_server.url + "/login?next=/card", member.phone)
    await page.get_by_role("link", name=re.compile("自动续费：关")).click()
    await expect(page).to_have_url(re.compile(r"/card/auto-renew$"))

    notice = page.locator(".renewal-notice")
    await expect(notice.locator(".renewal-price")).to_have_text("¥168.00")
    await expect(notice.locator(".renewal-date")).to_have_text(re.compile(r"\d{4}-\d{2}-\d{2}"))
    await expect(notice).to_contain_text("随时在本页")
    assert await fits_the_phone(page)
    await page.screenshot(path=str(screenshot_path(f"auto-renew-notice-{backend}.png")))

    await page.get_by_role("button", name="开启并签署代扣协议").click()
    await expect(page).to_have_url(re.compile(r"/card/auto-renew$"))  # no consent, no mandate
    await page.get_by_label("我已阅读以上内容，同意自动续费扣款").check()
    await page.get_by_role("button", name="开启并签署代扣协议").click()

    await expect(page.locator("h1")).to_have_text("沙箱代扣协议")
    await expect(page.locator(".cashier")).to_contain_text("¥168.00")
    await page.get_by_role("button", name="同意并签约").click()

    await expect(page).to_have_url(re.compile(r"/card/auto-renew$"))
    await expect(page.locator("#auto-renew-state")).to_have_text("自动续费已开启")
    await expect(page.locator(".next-charge")).to_have_text("¥168.00")
    assert await fits_the_phone(page)
    await page.screenshot(path=str(screenshot_path(f"auto-renew-on-{backend}.png")))

    await page.get_by_role("link", name="返回我的会员卡").click()
    await expect(page.get_by_role("link", name=re.compile("自动续费：开"))).to_be_visible()
    await page.get_by_role("link", name=re.compile("自动续费：开")).click()
    await page.get_by_role("button", name="关闭自动续费").click()
    await expect(page.locator("[data-state=off]")).to_be_visible()
    async with db.session_scope() as session:
        from sqlalchemy import select

        mandate = await session.scalar(
            select(PaymentMandate).where(PaymentMandate.member_id == member.id)
        )
        assert mandate is not None
        assert mandate.status == MandateState.revoked
