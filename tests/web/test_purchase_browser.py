"""The purchase story in a real browser, on both databases: sign up, buy, see the card."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from redcard.models import Membership
from tests.fixtures.browser import screenshot_path
from tests.fixtures.factories import PASSWORD, assert_ledger_ok, count, new_user, setup_plans

pytestmark = pytest.mark.browser


async def test_visitor_signs_up_buys_the_card_and_sees_it_active(
    page: Page, live_server, db, backend
):
    await setup_plans(db)
    await page.goto(live_server.url + "/")
    await expect(page.locator(".appbar .page-title")).to_have_text("发现")  # Chinese by default

    await page.get_by_role("link", name="登录").click()
    await page.get_by_role("link", name="注册账号").click()
    await page.get_by_label("手机号").fill("13712345678")
    await page.get_by_label("您的称呼").fill("小红")
    await page.get_by_label("密码（至少 8 位）").fill("correct-horse-9")
    await page.get_by_role("button", name="注册").click()

    # greeted on the annual card's buy page; every plan and its terms are a tap away
    await expect(page).to_have_url(re.compile(r"/buy/.+\?welcome=1$"))
    await page.get_by_role("link", name=re.compile("查看全部方案")).click()
    await expect(page).to_have_url(re.compile(r"/plans$"))
    annual = page.locator("[data-plan=annual]")
    await expect(annual).to_contain_text("¥168.00")
    await annual.get_by_role("link", name="阅读会员协议").click()
    await expect(page.locator("h1")).to_have_text("会员协议")
    await page.go_back()
    await annual.get_by_role("link", name="购买").click()

    await expect(page.locator(".notice")).to_contain_text("自动续费默认关闭")
    await page.get_by_role("button", name="支付 ¥168.00").click()
    # the browser refuses to submit without consent to the terms (required checkbox)
    await expect(page).to_have_url(re.compile(r"/buy/"))
    await page.get_by_label(re.compile("我已阅读并同意会员协议")).check()
    await page.get_by_role("button", name="支付 ¥168.00").click()

    await expect(page.locator("h1")).to_have_text("沙箱收银台")
    await expect(page.locator(".price")).to_have_text("¥168.00")
    await page.get_by_role("button", name="确认支付").click()

    await expect(page).to_have_url(re.compile(r"/card$"))
    card = page.locator(".membership-card")
    await expect(card).to_have_attribute("data-status", "active")
    await expect(card).to_contain_text("生效中")
    await expect(card.locator(".expiry")).to_have_text(re.compile(r"\d{4}-\d{2}-\d{2}"))
    await page.screenshot(path=str(screenshot_path(f"card-{backend}.png")), full_page=True)

    await page.get_by_role("link", name="English").click()
    await expect(page.locator(".membership-card")).to_contain_text("Valid until")

    assert await count(db, Membership) == 1
    await assert_ledger_ok(db)


async def test_operator_creates_and_retires_a_plan_in_the_console(page: Page, live_server, db):
    await setup_plans(db)

    operator = await new_user(db, role="operator", name="运营")
    await page.goto(live_server.url + "/operator")
    await expect(page).to_have_url(re.compile(r"/login\?next=/operator"))
    await page.get_by_label("手机号").fill(operator.phone)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator("h1")).to_have_text("运营后台")

    form = page.locator("form[action='/operator/plans']")
    await form.get_by_label("代码", exact=True).fill("quarter")
    await form.get_by_label("名称", exact=True).fill("季卡")
    await form.get_by_label("价格（元）").fill("４８")  # full-width digits are accepted
    await form.get_by_label("天数", exact=True).fill("90")
    await form.get_by_role("button", name="创建方案").click()
    row = page.locator("tr[data-plan=quarter]")
    await expect(row).to_contain_text("¥48.00")
    await expect(row).to_contain_text("在售")

    await form.get_by_label("代码", exact=True).fill("bad")
    await form.get_by_label("名称", exact=True).fill("坏")
    await form.get_by_label("价格（元）").fill("-5")
    await form.get_by_label("天数", exact=True).fill("30")
    await form.get_by_role("button", name="创建方案").click()
    await expect(page.locator(".error")).to_be_visible()
    await expect(page.locator("tr[data-plan=bad]")).to_have_count(0)

    await row.get_by_label("状态").select_option("retired")
    await row.get_by_role("button", name="保存").click()
    await expect(page.locator("tr[data-plan=quarter]")).to_contain_text("已下架")
    await page.goto(live_server.url + "/plans")
    await expect(page.locator("[data-plan=quarter]")).to_have_count(0)
