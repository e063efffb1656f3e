"""持卡买单 in a real browser on a phone-sized screen, on both databases: the member scans the
store's QR (opens /pay/<code>), logs in, enters the bill, sees the discount worked out by the
server, pays at the channel's cashier; the store's staff see the paid bill on /merchant/bills."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from redcard.models import Redemption, RedemptionStatus
from tests.fixtures.browser import PHONE, screenshot_path
from tests.fixtures.factories import PASSWORD, assert_ledger_ok, new_card_holder, new_shop

pytestmark = pytest.mark.browser


async def _log_in(page: Page, phone: str) -> None:
    await page.get_by_label("手机号").fill(phone)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()


async def test_member_pays_at_the_store_qr_and_staff_see_the_bill(
    page: Page, browser: Browser, live_server, db, backend
):
    shop = await new_shop(db, name="小杨生煎", discount_bp=1200, cap_fen=5000)
    member = await new_card_holder(db)

    await page.goto(f"{live_server.url}/pay/{shop.store.pay_code}")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await _log_in(page, member.phone)

    await expect(page.locator("h1")).to_have_text("持卡买单")
    await expect(page.locator(".storepay-store")).to_contain_text(shop.store.name)
    await expect(page.locator(".discount-terms")).to_contain_text("持卡享 8.8折")
    await page.get_by_label("消费金额（元）").fill("２５６.８０")  # full-width digits are fine
    await page.get_by_role("button", name="查看优惠").click()
    # 12% of ¥256.80 = ¥30.816 → ¥30.81 (rounded down); the member pays ¥225.99
    await expect(page.locator(".quote-discount")).to_have_text("-¥30.81")
    await expect(page.locator(".quote-charged")).to_have_text("¥225.99")
    await page.screenshot(
        path=str(screenshot_path(f"storepay-quote-{backend}.png")), full_page=True
    )
    await page.get_by_role("button", name="支付 ¥225.99").click()

    await expect(page.locator("h1")).to_have_text("沙箱收银台")
    await expect(page.locator(".price")).to_have_text("¥225.99")
    await page.get_by_role("button", name="确认支付").click()
    await expect(page).to_have_url(re.compile(r"/pay/bills/"))
    result = page.locator(".storepay-result")
    # the page asks the channel, and refreshes itself while the payment is unconfirmed
    await expect(result).to_have_attribute("data-status", "committed", timeout=15_000)
    await expect(result).to_contain_text("支付成功")
    await expect(page.locator(".savings")).to_contain_text("¥30.81")

    staff_context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    staff_page = await staff_context.new_page()
    try:
        await staff_page.goto(f"{live_server.url}/merchant/bills")
        await _log_in(staff_page, shop.staff[0].phone)
        await expect(staff_page.locator("h1")).to_have_text("买单记录")
        row = staff_page.locator("li.bill").first
        await expect(row).to_have_attribute("data-status", "committed")
        await expect(row.locator(".bill-charged")).to_have_text("¥225.99")
        await expect(row).to_contain_text("小**")
        await staff_page.screenshot(
            path=str(screenshot_path(f"storepay-bills-{backend}.png")), full_page=True
        )

        await staff_page.get_by_role("link", name=re.compile("收款码")).click()
        await expect(staff_page.locator(".qr svg")).to_be_visible()
        await expect(staff_page.locator(".pay-url")).to_have_text(
            f"{live_server.url}/pay/{shop.store.pay_code}"
        )

        await staff_page.goto(f"{live_server.url}/merchant/bills")
        staff_page.once("dialog", lambda dialog: dialog.accept())  # undo asks first
        await staff_page.get_by_role("button", name="撤销并退款").click()
        await expect(staff_page.locator("li.bill").first).to_have_attribute("data-status", "undone")
    finally:
        await staff_context.close()

    async with db.session_scope() as session:
        from sqlalchemy import select

        redemption = (await session.scalars(select(Redemption))).one()
        assert redemption.status == RedemptionStatus.undone
        assert (redemption.bill_fen, redemption.charged_fen) == (25680, 22599)
    await assert_ledger_ok(db)
