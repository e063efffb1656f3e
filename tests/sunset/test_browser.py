"""The sunset in Chromium: the operator console prepares, a second operator approves, the
worker refunds, the console shows it done and reconciled; the member sees "已退款"."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from redcard.kit.time import utc_now, zone
from tests.fixtures.browser import screenshot_path
from tests.fixtures.factories import PASSWORD, assert_ledger_ok, drain

pytestmark = pytest.mark.browser


async def _login(page: Page, base: str, phone: str, next_path: str) -> None:
    await page.context.clear_cookies()
    await page.goto(base + next_path)
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.get_by_label("手机号").fill(phone)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()


async def test_operator_console_sunset_and_member_refund_page(
    page: Page, live_server, client, db, sandbox, settings, channels, world_factory, backend
):
    w = await world_factory(2)
    base = live_server.url
    await _login(page, base, w.preparer.phone, "/operator/sunset")
    await expect(page.locator("h1")).to_have_text("停止运营")
    cutoff = utc_now().astimezone(zone()).strftime("%Y-%m-%dT%H:%M")
    form = page.locator("#prepare")
    await form.get_by_label("截止时间（UTC+8）").fill(cutoff)
    await form.get_by_label("会员通知").fill("小红卡将停止运营，所有会员全额退款")
    await form.get_by_role("button", name="准备并查看试运行").click()
    await expect(page.locator(".dry-total")).to_have_text("2 张会员卡，共需退款 ¥336.00")
    await expect(page.locator("#needs-second")).to_be_visible()
    await expect(page.locator("#approve")).to_have_count(0)

    await _login(page, base, w.approver.phone, "/operator/sunset")
    asked: list[str] = []
    page.once("dialog", lambda dialog: asked.append(dialog.message) or dialog.accept())
    await page.locator("#approve").click()
    await expect(page.locator("#campaign")).to_have_attribute("data-status", "approved")
    assert asked == ["确定停止运营？将立即停止销售并为所有会员退款，此操作无法撤销。"]
    await expect(page.locator("#progress")).to_contain_text("¥336.00")

    await drain(settings, db, channels, sandbox)  # the worker runs the campaign
    await page.goto(base + "/operator/sunset")
    await expect(page.locator("#campaign")).to_have_attribute("data-status", "completed")
    await expect(page.locator("#progress .done")).to_contain_text("¥336.00")
    await page.locator("#reconcile").click()
    await expect(page.locator("#reconcile-verdict")).to_have_text(
        "无差异，本次活动每一天的退款都已对账。"
    )
    await page.screenshot(
        path=str(screenshot_path(f"sunset-console-{backend}.png")), full_page=True
    )

    await _login(page, base, w.members[0].phone, "/card/refunds")
    refund = page.locator(".refund")
    await expect(refund).to_have_attribute("data-status", "succeeded")
    await expect(refund.locator(".refund-status")).to_have_text("已退款")
    await expect(refund.locator(".amount")).to_have_text("¥168.00")
    await page.screenshot(path=str(screenshot_path(f"sunset-member-{backend}.png")), full_page=True)
    await assert_ledger_ok(db)
