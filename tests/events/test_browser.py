"""The member flow (browse → register → cancel) and the door check-in, in Chromium against a
real server, on both databases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Page, expect

from redcard.kit.time import utc_now
from tests.fixtures.browser import screenshot_path
from tests.fixtures.factories import (
    PASSWORD,
    card_holders,
    create_operator,
    make_event,
    register,
    registration_of,
)

pytestmark = pytest.mark.browser


async def log_in(page: Page, url: str, phone: str) -> None:
    await page.goto(url)
    await page.get_by_label("手机号").fill(phone)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()


async def test_member_browses_registers_and_cancels(page: Page, live_server, db, channels, backend):
    event = await make_event(db, capacity=3, title="会员咖啡品鉴会")
    member, other = await card_holders(db, 2, quick=False)

    await log_in(page, live_server.url + "/login?next=/events", member.phone)
    await expect(page.locator("h1")).to_have_text("会员专属活动")
    card = page.locator(f"[data-event='{event.id}']")
    await expect(card.locator(".seats")).to_have_text("剩余 3 个名额")

    # someone else registers meanwhile: the list updates itself (it polls the seats endpoint)
    await register(db, channels, other, event.id)
    await expect(card.locator(".seats")).to_have_text("剩余 2 个名额", timeout=10_000)

    await card.get_by_role("link", name="查看详情").click()
    await expect(page.locator("h1")).to_have_text("会员咖啡品鉴会")
    await page.get_by_role("button", name="立即报名").click()
    await expect(page.locator(".ticket")).to_contain_text("您已报名")
    reg = await registration_of(db, event.id, member)
    await expect(page.locator("[data-code]")).to_have_text(f"{reg.code[:4]}-{reg.code[4:]}")
    await expect(page.locator(".qr svg")).to_be_visible()
    await page.screenshot(path=str(screenshot_path(f"event-ticket-{backend}.png")), full_page=True)

    await page.get_by_role("button", name="取消报名").click()
    await expect(page.get_by_role("status")).to_have_text("您的报名已取消。")
    await expect(page.get_by_role("button", name="立即报名")).to_be_visible()
    assert (await registration_of(db, event.id, member)).status == "cancelled"

    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("button", name="Register")).to_be_visible()


async def test_staff_check_in_at_the_door(page: Page, live_server, db, channels, backend):
    async with db.session_scope() as session:
        operator = await create_operator(session)
    start = utc_now() + timedelta(hours=1)  # check-in opens two hours before
    event = await make_event(
        db,
        operator,
        capacity=5,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        cancel_deadline=start - timedelta(minutes=30),
        title="夜跑",
    )
    (member,) = await card_holders(db, 1)
    await register(db, channels, member, event.id)
    reg = await registration_of(db, event.id, member)

    await log_in(page, live_server.url + f"/manage/events/{event.id}", operator.phone)
    await expect(page).to_have_url(re.compile(rf"/manage/events/{event.id}$"))
    code_box = page.get_by_label("签到码")
    await code_box.fill(reg.code.lower())
    await page.get_by_role("button", name="签到", exact=True).click()
    await expect(page.locator(".checkin-result")).to_contain_text("签到成功")
    await expect(page.locator("[data-figure=checked_in]")).to_have_text("1")

    await page.get_by_label("签到码").fill(f"{reg.code[:4]}-{reg.code[4:]}")
    await page.get_by_role("button", name="签到", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text("该报名已签到，不能重复签到")

    await page.get_by_label("签到码").fill("ZZZZ-ZZZZ")
    await page.get_by_role("button", name="签到", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text("签到码无效")
    await page.screenshot(path=str(screenshot_path(f"event-checkin-{backend}.png")), full_page=True)
    assert (await registration_of(db, event.id, member)).status == "checked_in"
