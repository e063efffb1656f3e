"""The inbox in Chromium on a 390×844 phone: the 消息 badge on the 我的 tab counts the unread
messages, the list shows them, and opening one marks it read (the badge goes down)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.delivery.test_pages import _deliver
from tests.fixtures.browser import log_in, screenshot_path
from tests.fixtures.factories import new_user

pytestmark = pytest.mark.browser


async def test_a_member_opens_a_message_from_the_badge_on_a_phone(
    page: Page, live_server, db, backend
) -> None:  # type: ignore[no-untyped-def]
    member = await new_user(db)
    await _deliver(db, member, n=2)
    await log_in(page, live_server.url + "/login?next=/me", member.phone)

    badge = page.locator("nav.tabbar [data-tab='me'] .tab-badge")
    await expect(badge).to_have_text("2")
    await page.locator("#messages a").click()
    await expect(page).to_have_url(live_server.url + "/me/messages")
    unread = page.locator(".inbox li[data-read='no']")
    await expect(unread).to_have_count(2)
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    await page.screenshot(path=str(screenshot_path(f"inbox-{backend}.png")))

    await unread.first.locator("a").click()
    await expect(page.locator("article.message-full h1")).to_have_text("你的会员卡还有 7 天到期")
    await expect(page.locator(".message-body")).to_contain_text("2026-12-08 12:00 UTC+8")
    await expect(badge).to_have_text("1")
    await page.go_back()
    await page.reload()
    await expect(page.locator(".inbox li[data-read='no']")).to_have_count(1)
    await expect(page.locator(".inbox li[data-read='yes']")).to_have_count(1)
