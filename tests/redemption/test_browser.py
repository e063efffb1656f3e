"""The till story in Chromium: the member shows the rotating code, staff type it on the POS
page on a phone, preview, confirm and undo; the member's card confirms the saving."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.fixtures.browser import PHONE, screenshot_path
from tests.fixtures.factories import PASSWORD, new_card_holder, new_till_shop

pytestmark = pytest.mark.browser


async def _login(page: Page, base: str, phone: str, target: str) -> None:
    await page.goto(f"{base}/login?next={target}")
    await page.get_by_label("手机号").fill(phone)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(re.escape(target) + "$"))


async def test_member_code_at_the_till_preview_confirm_undo(
    page: Page, browser: Browser, live_server, db, backend
):
    shop = await new_till_shop(db, discount_bp=1000, excluded_categories="烟酒")
    member = await new_card_holder(db, trial=False)

    await _login(page, live_server.url, member.phone, "/card")
    digits = page.locator("#code-digits")
    await expect(digits).to_have_text(re.compile(r"^\d{4} \d{3} \d{3} \d{3}$"))
    await expect(page.locator("#code-qr svg")).to_be_visible()
    await expect(page.locator("#code-savings")).to_have_text("您已省下 ¥0.00（会员费 ¥168.00）。")
    code = await digits.get_attribute("data-code")
    assert code is not None
    assert str(member.id).replace("-", "") not in code

    staff_context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    staff_context.set_default_timeout(15_000)
    till = await staff_context.new_page()
    try:
        await _login(till, live_server.url, shop.staff.phone, "/merchant/pos")
        await till.get_by_label("会员码").fill(code)
        await till.get_by_label("账单金额（元）").fill("128.50")
        # ¥28.50 of it is 烟酒, which this store excludes: 10% off the other ¥100.00
        await till.get_by_label("其中不参与折扣（元）").fill("28.50")
        await till.get_by_role("button", name="预览").click()
        box = till.locator("#pos-preview-box")
        await expect(box).to_be_visible()
        await expect(till.locator("#pv-member")).to_have_text(f"小** ({member.phone[-4:]})")
        await expect(till.locator("#pv-excluded")).to_have_text("¥28.50")
        await expect(till.locator("#pv-discount")).to_have_text("-¥10.00")
        await expect(till.locator("#pv-charged")).to_have_text("¥118.50")
        await till.get_by_role("button", name="确认核销").click()
        await expect(till.locator("#pos-done")).to_have_text(
            "核销成功：应收 ¥118.50（已优惠 ¥10.00）。"
        )
        row = till.locator("#pos-recent tr").first
        await expect(row).to_contain_text("¥128.50")
        await till.screenshot(path=str(screenshot_path(f"pos-{backend}.png")), full_page=True)

        # the member's screen confirms the saving without a reload
        await expect(page.locator("#code-last")).to_contain_text("优惠 ¥10.00")
        await expect(page.locator("#code-savings")).to_have_text(
            "您已省下 ¥10.00（会员费 ¥168.00）。"
        )
        await page.screenshot(path=str(screenshot_path(f"card-code-{backend}.png")), full_page=True)

        # the same code again: the generic refusal
        await till.get_by_label("会员码").fill(code)
        await till.get_by_label("账单金额（元）").fill("50")
        await till.get_by_role("button", name="预览").click()
        await expect(till.locator("#pos-error")).to_have_text(
            "会员码无效，请让会员刷新后重新出示。"
        )

        till.once("dialog", lambda dialog: dialog.accept())  # undo asks first
        await row.get_by_role("button", name="撤销").click()
        await expect(till.locator("#pos-done")).to_have_text("已撤销。")
        await expect(till.locator("#pos-recent tr").first).to_contain_text("已撤销")
        await page.reload()
        await expect(page.locator("#code-savings")).to_have_text(
            "您已省下 ¥0.00（会员费 ¥168.00）。"
        )
    finally:
        await staff_context.close()
