"""Giving the card back in Chromium at phone size, from my card: the preview shows what was
paid and the plan's pro-rata refund after the cooling-off period, the member confirms, and the
refund's timeline follows it to 已退款."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import update

from redcard.kit.time import utc_now
from redcard.membership import service as membership
from redcard.membership.schemas import PlanCreate
from redcard.models import Membership, RefundPolicy
from tests.fixtures.browser import log_in, screenshot_path
from tests.fixtures.factories import assert_ledger_ok, buy_card, drain, login, new_user, setup_plans

pytestmark = pytest.mark.browser


async def test_member_previews_and_confirms_a_refund_from_my_card(
    page: Page, live_server, client, db, sandbox, settings, channels, backend
):
    await setup_plans(db)
    async with db.session_scope() as session:
        plan = await membership.create_plan(
            session,
            PlanCreate(
                code="annual-pro-rata",
                name="年卡",
                price_fen=16800,
                duration_days=365,
                refund_policy=RefundPolicy.pro_rata,
                cooling_off_days=7,
            ),
        )
    member = await new_user(db, name="小红")
    await buy_card(client, sandbox, await login(client, member), plan.id)
    # the card started 73 days and 10 minutes ago: 292 days less 10 minutes of 365 are left,
    # 13,439.68 fen, rounded down (and for the next 20 minutes still 13,439)
    starts = utc_now() - timedelta(days=73, minutes=10)
    async with db.session_scope() as session:
        await session.execute(
            update(Membership)
            .where(Membership.member_id == member.id)
            .values(starts_at=starts, ends_at=starts + timedelta(days=365))
        )

    await log_in(page, live_server.url + "/login?next=/card", member.phone)
    await expect(page.locator("h1")).to_have_text("我的卡")
    await page.get_by_role("link", name="退卡并查看退款金额").click()
    await expect(page).to_have_url(re.compile(r"/card/refunds"))
    preview = page.locator("#give-back")
    await expect(preview.locator(".quote-paid")).to_have_text("¥168.00")
    await expect(preview.locator(".quote-amount")).to_have_text("¥134.39")
    await expect(preview).to_contain_text("冷静期已过：按会员卡剩余有效期折算退款。")
    await page.screenshot(
        path=str(screenshot_path(f"self-refund-preview-{backend}.png")), full_page=True
    )
    await preview.get_by_label("我知道会员卡将立即失效").check()
    await preview.get_by_role("button", name="退款 ¥134.39").click()

    refund = page.locator(".refund")
    await expect(refund).to_have_count(1)
    await expect(refund.locator(".amount")).to_have_text("¥134.39")
    await expect(refund.locator(".timeline")).to_contain_text("已申请退款")
    await expect(page.locator("#give-back")).to_have_count(0)  # the card has ended

    await drain(settings, db, channels, sandbox)  # the worker sends it; the channel confirms
    await page.reload()
    await expect(refund).to_have_attribute("data-status", "succeeded")
    await expect(refund.locator(".refund-status")).to_have_text("已退款")
    await expect(refund.locator(".timeline")).to_contain_text("已退回原支付账户")
    await page.screenshot(path=str(screenshot_path(f"self-refund-{backend}.png")), full_page=True)
    await assert_ledger_ok(db)
