"""The 我的 tab (/me) over HTTP: who I am with the phone masked, my orders, events and refunds,
changing my password (the old one and my other logins stop working) and the entries still to
come, which are labelled, not links."""

from __future__ import annotations

import re

import httpx

from redcard.models import Plan, User
from tests.fixtures.factories import (
    PASSWORD,
    buy_card,
    login,
    make_event,
    new_operator,
    new_user,
    register,
    setup_plans,
)

CSRF = "csrf-token-for-tests"
NEW_PASSWORD = "battery-staple-7"


async def web_login(client: httpx.AsyncClient, user: User, password: str = PASSWORD) -> int:
    """Log in through the login form, as a browser does; the session cookie stays in `client`."""
    client.cookies.set("redcard_csrf", CSRF)
    response = await client.post(
        "/login", data={"csrf": CSRF, "phone": user.phone, "password": password}
    )
    return response.status_code


def idempotency_key(page: str, form_action: str) -> str:
    form = page[page.index(f'action="{form_action}"') :]
    match = re.search(r'name="idempotency_key" value="([^"]+)"', form)
    assert match
    return match.group(1)


async def change_password(
    client: httpx.AsyncClient, old: str, new: str, again: str | None = None
) -> httpx.Response:
    page = (await client.get("/me")).text
    return await client.post(
        "/me/password",
        data={
            "csrf": CSRF,
            "idempotency_key": idempotency_key(page, "/me/password"),
            "old_password": old,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
    )


async def test_anonymous_visitors_are_sent_to_log_in_and_come_back(client, db):
    client.cookies.clear()
    response = await client.get("/me")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/me"


async def test_me_shows_who_i_am_my_orders_events_refunds_and_what_is_coming(
    client, db, sandbox, channels
):
    plans = await setup_plans(db)
    member = await new_user(db, name="小红")
    order = await buy_card(client, sandbox, await login(client, member), plans.annual.id)
    event = await make_event(db, title="会员咖啡品鉴会")
    await register(db, channels, member, event.id)
    assert await web_login(client, member) == 303

    page = await client.get("/me")
    assert page.status_code == 200
    text = page.text
    masked = f"{member.phone[:3]}****{member.phone[-4:]}"
    assert re.fullmatch(r"139\*{4}\d{4}", masked)
    assert masked in text
    assert member.phone not in text  # nowhere on the page, not even in a form
    assert "小红" in text

    orders = re.findall(r'<li class="order".*?</li>', text, re.S)
    assert len(orders) == 1
    assert f'href="/orders/{order["id"]}"' in orders[0]
    assert f"会员卡 · {plans.annual.name}" in orders[0]
    assert "¥168.00" in orders[0]
    assert "已支付" in orders[0]

    events = re.findall(r'<li class="registration".*?</li>', text, re.S)
    assert len(events) == 1
    assert f'href="/events/{event.id}"' in events[0]
    assert "会员咖啡品鉴会" in events[0]
    assert "已报名" in events[0]

    assert 'href="/card/refunds"' in text
    soon = text[text.index('id="coming-soon"') :]
    for label in ("自动续费", "亲友卡"):
        entry = re.search(rf'<li aria-disabled="true">(?:(?!</li>).)*{label}.*?</li>', soon, re.S)
        assert entry, label
        assert "即将推出" in entry.group(0)
        assert "href" not in entry.group(0)
    assert 'action="/logout"' in text
    assert 'href="/me/export"' in text
    assert 'href="/me/close"' in text

    async with db.session_scope() as session:  # the operator gave the plan an English name
        (await session.get_one(Plan, plans.annual.id)).name_en = "Annual card"
    client.cookies.set("redcard_lang", "en")
    english = (await client.get("/me")).text
    assert "Membership card · Annual card" in english
    assert "My orders and receipts" in english
    assert "Coming soon" in english
    assert "Membership card" in english


async def test_a_wrong_current_password_is_refused_and_changes_nothing(client, db):
    member = await new_user(db)
    assert await web_login(client, member) == 303

    refused = await change_password(client, "not-my-password", NEW_PASSWORD)
    assert refused.status_code == 422
    assert "当前密码不正确" in refused.text
    assert re.search(r'<details id="change-password" open>', refused.text)  # the form stays open

    mismatch = await change_password(client, PASSWORD, NEW_PASSWORD, again="battery-staple-8")
    assert mismatch.status_code == 422
    assert "两次输入的新密码不一致" in mismatch.text

    too_short = await change_password(client, PASSWORD, "short")
    assert too_short.status_code == 422
    assert "密码长度为 8 到 128 位" in too_short.text

    client.cookies.clear()
    assert await web_login(client, member, PASSWORD) == 303  # the password is unchanged
    assert await web_login(client, member, NEW_PASSWORD) == 401


async def test_changing_the_password_ends_the_other_logins_and_keeps_this_one(client, db):
    member = await new_user(db)
    phone_app = await login(client, member)  # another device, logged in before the change
    assert (await client.get("/api/v1/auth/me", headers=phone_app)).status_code == 200
    assert await web_login(client, member) == 303

    changed = await change_password(client, PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 303
    assert changed.headers["location"] == "/me?done=password"
    done = await client.get(changed.headers["location"])
    assert done.status_code == 200  # this browser stays logged in
    assert "密码已修改" in done.text

    assert (await client.get("/api/v1/auth/me", headers=phone_app)).status_code == 401
    client.cookies.clear()
    assert await web_login(client, member, PASSWORD) == 401  # the old password stops working
    assert await web_login(client, member, NEW_PASSWORD) == 303


async def test_logging_out_on_the_other_devices_keeps_this_one(client, db):
    member = await new_user(db)
    phone_app = await login(client, member)
    assert await web_login(client, member) == 303
    page = await client.get("/me")
    assert re.search(r'action="/me/sessions">.*?data-confirm="', page.text, re.S)

    ended = await client.post("/me/sessions", data={"csrf": CSRF})
    assert ended.status_code == 303
    assert (await client.get("/api/v1/auth/me", headers=phone_app)).status_code == 401
    assert (await client.get(ended.headers["location"])).status_code == 200


async def test_staff_change_their_password_on_their_own_account_page(client, db):
    operator = await new_operator(db)
    assert await web_login(client, operator) == 303
    page = await client.get("/me")
    assert page.status_code == 200
    assert 'action="/me/password"' in page.text
    assert 'id="orders"' not in page.text
    assert 'id="coming-soon"' not in page.text
    assert 'class="tabbar"' not in page.text  # staff keep their top navigation
    assert (await change_password(client, PASSWORD, NEW_PASSWORD)).status_code == 303
