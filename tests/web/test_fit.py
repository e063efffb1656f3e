"""Pages a person reads without help (issue 14): discounts in 折 words, times that show the
date when it is not today, the operator's merchants list searched, counted and paged."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.async_api import Locator, Page, expect

from redcard.kit import time as clock
from redcard.models import Merchant, MerchantStatus, Role
from redcard.settlement import service as settlement
from redcard.web.render import when_short
from tests.fixtures.browser import PHONE, screenshot_path
from tests.fixtures.factories import (
    PASSWORD,
    at,
    code_for,
    idem,
    login,
    new_card_holder,
    new_shop,
    new_till_shop,
    new_user,
    pay_bill,
    till,
)
from tests.fixtures.factories.members import quick_user

HTML = {"accept": "text/html"}


def test_when_short_shows_the_date_only_when_not_today():
    now = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    with clock.frozen(now), clock.in_zone("Asia/Shanghai"):
        assert when_short(now + timedelta(hours=2, minutes=5)) == "14:05"
        # 23:30 UTC is 07:30 the next morning in Shanghai: another day there
        assert when_short(datetime(2026, 11, 28, 23, 30, tzinfo=UTC)) == "11-29 07:30"
        assert when_short(datetime(2026, 11, 27, 15, 59, tzinfo=UTC)) == "11-27 23:59"
        assert when_short(datetime(2025, 11, 28, 6, 5, tzinfo=UTC)) == "2025-11-28 14:05"
        assert when_short(None) == ""
    with clock.frozen(now), clock.in_zone("America/New_York"):  # 23:00 on the 27th there
        assert when_short(now) == "23:00"
        assert when_short(now + timedelta(hours=1)) == "11-28 00:00"


async def test_the_till_and_the_pay_page_say_the_discount_in_zhe(client, db):
    till_shop = await new_till_shop(db, discount_bp=1500)
    staff = await login(client, till_shop.staff)
    till = await client.get("/merchant/pos", headers=HTML | staff)
    assert till.status_code == 200
    assert 'data-rate="8.5折"' in till.text  # the till shows it for the chosen store
    assert 'data-msg-rate="持卡享 %(off)s"' in till.text

    shop = await new_shop(db, discount_bp=1700, cap_fen=5000)
    holder = await login(client, await new_card_holder(db))
    page = await client.get(f"/pay/{shop.store.pay_code}?bill=100", headers=HTML | holder)
    assert page.status_code == 200
    assert "持卡享 8.3折" in page.text
    assert "会员优惠 (8.3折)" in page.text
    assert "立减 ¥17.00" in page.text
    assert "¥83.00" in page.text
    client.cookies.set("redcard_lang", "en")
    try:
        page = await client.get(f"/pay/{shop.store.pay_code}?bill=100", headers=HTML | holder)
        assert "Card holders get 17% off" in page.text
        assert "¥17.00 off" in page.text
        home = await client.get("/", headers=HTML)
        assert "Card holders get at least 10% off at these stores." in home.text
    finally:
        client.cookies.delete("redcard_lang")
    home = await client.get("/", headers=HTML)
    assert "持卡在这些门店至少享 9折。" in home.text

    owner = await login(client, shop.owner)
    qr = await client.get(f"/merchant/stores/{shop.store.id}/qr", headers=HTML | owner)
    assert "持卡在此买单，享 8.3折" in qr.text
    dashboard = await client.get("/merchant", headers=HTML | owner)
    assert '<strong class="discount-words">8.3折</strong>' in dashboard.text


async def _merchants(db, reviewed: int, pending: int) -> list[Merchant]:
    """`reviewed` approved or rejected merchants and `pending` applications, one a minute
    apart (the first is the oldest), named 商户01, 商户02, … with phones 1380000NNNN."""
    start = datetime(2026, 11, 1, 2, tzinfo=UTC)
    async with db.session_scope() as session:
        owner = quick_user(session, "老板", Role.merchant_staff)
        await session.flush()
        rows = []
        for n in range(1, reviewed + pending + 1):
            status = (
                MerchantStatus.pending
                if n > reviewed
                else (MerchantStatus.approved if n % 3 else MerchantStatus.rejected)
            )
            rows.append(
                Merchant(
                    name=f"商户{n:02d}",
                    contact_name="联系人",
                    contact_phone=f"1380000{n:04d}",
                    owner_id=owner.id,
                    status=status,
                    rejection_reason="资料不全" if status == MerchantStatus.rejected else None,
                    created_at=start + timedelta(minutes=n),
                )
            )
        session.add_all(rows)
        await session.flush()
        return rows


def _reviewed_ids(html: str) -> list[str]:
    return re.findall(r'data-reviewed="([^"]+)"', html)


def _pending_ids(html: str) -> list[str]:
    return re.findall(r'data-merchant="([^"]+)"', html)


async def test_the_merchants_list_is_searched_counted_and_paged(client, db):
    made = await _merchants(db, reviewed=45, pending=22)
    reviewed_newest_first = [str(m.id) for m in reversed(made[:45])]
    operator = HTML | await login(client, await new_user(db, Role.operator, "运营"))

    first = await client.get("/operator/merchants", headers=operator)
    assert first.status_code == 200
    assert 'data-count="reviewed">(45)' in first.text
    assert 'data-count="pending">(22)' in first.text
    assert _reviewed_ids(first.text) == reviewed_newest_first[:20]
    assert "第 1–20 个，共 45 个" in first.text
    assert "第 1 / 3 页" in first.text
    assert 'href="?q=&amp;page=2"' in first.text
    # the waiting applications: the oldest 20 first, and the page says there are more
    assert _pending_ids(first.text) == [str(m.id) for m in made[45:65]]
    assert "共 22 个申请，这里先列出最早的 20 个" in first.text

    last = await client.get("/operator/merchants?page=3", headers=operator)
    assert _reviewed_ids(last.text) == reviewed_newest_first[40:]
    assert "第 41–45 个，共 45 个" in last.text
    assert 'rel="next"' not in last.text
    assert 'href="?q=&amp;page=2"' in last.text
    beyond = await client.get("/operator/merchants?page=99", headers=operator)
    assert _reviewed_ids(beyond.text) == _reviewed_ids(last.text)  # past the end: the last page
    junk = await client.get("/operator/merchants?page=-1x", headers=operator)
    assert _reviewed_ids(junk.text) == reviewed_newest_first[:20]

    by_name = await client.get("/operator/merchants", params={"q": "商户07"}, headers=operator)
    assert _reviewed_ids(by_name.text) == [str(made[6].id)]
    assert 'data-count="reviewed">(1)' in by_name.text
    assert 'data-count="pending">(0)' in by_name.text
    assert "没有符合搜索条件的申请。" in by_name.text
    by_phone = await client.get("/operator/merchants", params={"q": "00060"}, headers=operator)
    assert _pending_ids(by_phone.text) == [str(made[59].id)]
    assert _reviewed_ids(by_phone.text) == []
    assert "没有符合搜索条件的商户。" in by_phone.text
    tens = await client.get("/operator/merchants?q=%E5%95%86%E6%88%B71&page=2", headers=operator)
    assert 'data-count="reviewed">(10)' in tens.text  # 商户10 … 商户19, one page of them
    assert _reviewed_ids(tens.text) == reviewed_newest_first[26:36]
    literal = await client.get("/operator/merchants", params={"q": "%"}, headers=operator)
    assert 'data-count="reviewed">(0)' in literal.text  # "%" is a character, not a wildcard

    client.cookies.set("redcard_lang", "en")
    try:
        english = await client.get("/operator/merchants?page=2", headers=operator)
        assert "21–40 of 45" in english.text
        assert "Page 2 of 3" in english.text
    finally:
        client.cookies.delete("redcard_lang")


# -- a phone in Chromium: lists fit the screen ------------------------------------------------
async def _log_in(page: Page, base: str, phone: str, target: str) -> None:
    await page.goto(f"{base}/login?next={target}")
    await page.get_by_label("手机号").fill(phone)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(re.compile(re.escape(target) + "$"))


async def _fits(page: Page) -> None:
    """Nothing on the page is wider than the phone: no sideways scrolling of the document."""
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] == PHONE["width"], widths


async def _across_the_screen(locator: Locator) -> None:
    """Visible without scrolling sideways (it may be further down the page)."""
    await expect(locator).to_be_visible()
    box = await locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]


async def _till_sales(client, db, shop, sales: int) -> None:
    """`sales` committed till redemptions at `shop`, one member each."""
    for n in range(sales):
        member = await new_card_holder(db, name=f"会员{n}", trial=False)
        code = await code_for(db, member)
        prepared = await client.post(
            "/api/v1/redemptions/prepare",
            json={"code": code, "bill_yuan": f"{1234 + n * 111}.50"},
            headers=till(shop),
        )
        assert prepared.status_code == 201, prepared.text
        done = await client.post(
            f"/api/v1/redemptions/{prepared.json()['id']}/commit", headers=till(shop) | idem()
        )
        assert done.status_code == 200, done.text


@pytest.mark.browser
async def test_the_tills_sales_and_the_statements_fit_a_phone(
    page: Page, client, db, sandbox, live_server, backend
):
    shop = await new_till_shop(db, name="王家沙点心店南京西路旗舰店", discount_bp=1250)
    days = [date(2026, 11, d) for d in (10, 11, 12, 13)]
    clock.freeze(at(days[0], 9))
    holder = await login(client, await new_card_holder(db, trial=False))
    for day in days:  # 买单 bills on four days, each day settled: four statements
        clock.freeze(at(day, 12))
        for bill in ("1888.88", "66.60"):
            await pay_bill(client, sandbox, holder, shop.store.pay_code, bill)
        clock.freeze(at(day + timedelta(days=1), 2))
        async with db.session_scope() as session:
            await settlement.settle_day(session, day)
    clock.freeze(at(days[-1], 18))
    await _till_sales(client, db, shop, 2)  # earlier days: their rows show the date
    clock.unfreeze()
    await _till_sales(client, db, shop, 3)

    await _log_in(page, live_server.url, shop.staff.phone, "/merchant/pos")
    await expect(page.locator("#pos-rate")).to_have_text("持卡享 8.75折")
    rows = page.locator("#pos-recent tr")
    await expect(rows).to_have_count(13)  # the 买单 bills are sales at the store too
    await expect(rows.first.locator("td").first).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect(rows.last.locator("td").first).to_have_text("11-10 12:00")
    await _across_the_screen(rows.first.get_by_role("button", name="撤销"))
    await _fits(page)
    await page.screenshot(path=str(screenshot_path(f"fit-till-{backend}.png")), full_page=True)

    await page.goto(f"{live_server.url}/merchant/statements")
    statements = page.locator("tr[data-statement]")
    await expect(statements).to_have_count(4)
    await _across_the_screen(statements.first.locator("td.net"))
    await _fits(page)
    await page.screenshot(
        path=str(screenshot_path(f"fit-statements-{backend}.png")), full_page=True
    )
    await statements.first.get_by_role("link").click()
    await expect(page.locator("tr[data-kind]")).to_have_count(2)
    await _fits(page)
