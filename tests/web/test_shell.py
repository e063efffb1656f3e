"""The app shell: members and visitors get an app bar (page title, language) and a bottom tab
bar (发现 · 会员卡 · 活动 · 我的) with the current tab marked; operators and merchant staff get a
top navigation instead; dangerous actions are set apart and ask before they post. Over HTTP,
then once in Chromium on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.fixtures.browser import screenshot_path
from tests.fixtures.factories import (
    PASSWORD,
    login,
    make_event,
    new_card_holder,
    new_operator,
    new_shop,
)

TABS = ["discover", "card", "events", "me"]


def tabs(html: str) -> dict[str, tuple[str, bool]]:
    """The tab bar's tabs: where each goes and whether it is marked as the current page."""
    bar = re.search(r'<nav class="tabbar".*?</nav>', html, re.S)
    assert bar, "no tab bar"
    found = re.findall(r'<a href="([^"]+)" data-tab="(\w+)"( aria-current="page")?>', bar.group(0))
    return {key: (href, bool(current)) for href, key, current in found}


def current(html: str) -> list[str]:
    return [key for key, (_, marked) in tabs(html).items() if marked]


async def test_members_get_the_tab_bar_with_the_current_tab_marked(client, db):
    member = await new_card_holder(db)
    headers = await login(client, member)
    for path, tab in [("/", "discover"), ("/card", "card"), ("/plans", "card")]:
        page = await client.get(path, headers=headers)
        assert list(tabs(page.text)) == TABS
        assert current(page.text) == [tab], path
    for path, tab in [("/events", "events"), ("/me", "me"), ("/card/refunds", "me")]:
        assert current((await client.get(path, headers=headers)).text) == [tab], path
    page = (await client.get("/card", headers=headers)).text
    assert tabs(page) == {
        "discover": ("/", False),
        "card": ("/card", True),
        "events": ("/events", False),
        "me": ("/me", False),
    }
    # the header is the page's title and the language, no row of links
    header = re.search(r'<header class="top appbar">.*?</header>', page, re.S).group(0)
    assert '<span class="page-title">我的卡</span>' in header
    assert re.findall(r'href="([^"]+)"', header) == ["/lang/en?next=/card"]


async def test_visitors_get_the_same_tabs_and_me_asks_them_to_log_in(client, db):
    client.cookies.clear()
    page = await client.get("/events")
    assert tabs(page.text)["me"] == ("/login?next=/me", False)
    assert current(page.text) == ["events"]
    assert current((await client.get("/login")).text) == ["me"]
    client.cookies.set("redcard_lang", "en")
    english = await client.get("/")
    assert re.search(
        r'data-tab="discover" aria-current="page">.*?<span>Discover</span>', english.text
    )


async def test_staff_keep_a_top_navigation_and_no_tab_bar(client, db):
    operator = await new_operator(db)
    page = (await client.get("/operator/sunset", headers=await login(client, operator))).text
    assert 'class="tabbar"' not in page
    wide = re.search(r'<nav class="nav-wide".*?</nav>', page, re.S).group(0)
    assert '<a href="/operator/sunset" aria-current="page">停止运营</a>' in wide
    assert '<a href="/operator">运营后台</a>' in wide
    assert '<details class="nav-menu"><summary>菜单</summary>' in page  # the phone's menu

    shop = await new_shop(db)
    page = (await client.get("/merchant/pos", headers=await login(client, shop.staff[0]))).text
    assert 'class="tabbar"' not in page
    assert '<a href="/merchant/pos" aria-current="page">收银台</a>' in page


async def test_dangerous_actions_are_set_apart_and_ask_first(client, db):
    shop = await new_shop(db, stores=1)
    owner = await login(client, shop.owner)
    dashboard = (await client.get("/merchant", headers=owner)).text
    pause = re.search(r'<div class="danger-zone">.*?</div>', dashboard, re.S).group(0)
    assert f'action="/merchant/stores/{shop.stores[0].id}/pause"' in pause
    assert re.search(r'class="danger" data-confirm="确定暂停本店？[^"]+">暂停本店</button>', pause)

    operator = await new_operator(db)
    event = await make_event(db, operator)
    manage = (
        await client.get(f"/manage/events/{event.id}", headers=await login(client, operator))
    ).text
    zone = manage[manage.index('<section class="danger-zone">') :]
    assert f'action="/manage/events/{event.id}/cancel"' in zone
    assert 'data-confirm="确定取消该活动？' in zone
    assert "/static/app.js" in manage


@pytest.mark.browser
async def test_the_tab_bar_on_a_phone_and_a_confirmation_that_is_dismissed(
    page: Page, live_server, db, backend
):
    member = await new_card_holder(db)
    await page.goto(live_server.url + "/card")
    await page.get_by_label("手机号").fill(member.phone)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(r"/card$"))
    assert page.viewport_size == {"width": 390, "height": 844}

    bar = page.get_by_role("navigation", name="主导航")
    await expect(bar).to_be_visible()
    links = bar.get_by_role("link")
    await expect(links).to_have_text(["发现", "会员卡", "活动", "我的"])
    for i in range(4):
        box = await links.nth(i).bounding_box()
        assert box is not None
        assert box["height"] >= 44
        assert box["width"] >= 44
    active = bar.get_by_role("link", name="会员卡")
    await expect(active).to_have_attribute("aria-current", "page")
    await expect(active).to_have_css("color", "rgb(228, 0, 43)")  # marked, not only in the DOM
    await expect(bar.get_by_role("link", name="我的")).not_to_have_css("color", "rgb(228, 0, 43)")

    async def fits() -> None:
        overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0
        # the last of the page scrolls clear of the fixed tab bar
        await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        footer = await page.locator("footer").bounding_box()
        tabbar = await bar.bounding_box()
        assert footer is not None
        assert tabbar is not None
        assert footer["y"] + footer["height"] <= tabbar["y"] + 1

    await fits()
    await page.screenshot(path=str(screenshot_path(f"shell-card-{backend}.png")))

    await bar.get_by_role("link", name="我的").click()
    await expect(page).to_have_url(re.compile(r"/me$"))
    await expect(bar.get_by_role("link", name="我的")).to_have_attribute("aria-current", "page")
    await expect(page.locator(".profile .phone")).to_have_text(
        f"{member.phone[:3]}****{member.phone[-4:]}"
    )
    await fits()
    await page.screenshot(path=str(screenshot_path(f"shell-me-{backend}.png")), full_page=True)

    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    asked: list[str] = []

    async def dismiss(dialog) -> None:  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", dismiss)
    end_others = page.get_by_role("button", name="退出其他设备上的登录")
    await end_others.click()
    await expect(page.locator("#settings")).to_be_visible()
    assert asked == ["确定退出其他所有设备上的登录？本设备保持登录。"]
    assert posted == []  # dismissed: nothing was sent
    await expect(page).to_have_url(re.compile(r"/me$"))

    async def accept(dialog) -> None:  # type: ignore[no-untyped-def]
        await dialog.accept()

    page.once("dialog", accept)
    await end_others.click()
    await expect(page.get_by_role("status")).to_have_text("您在其他设备上的登录已退出。")
    assert [url.removeprefix(live_server.url) for url in posted] == ["/me/sessions"]
