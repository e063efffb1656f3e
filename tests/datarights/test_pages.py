"""下载我的数据 and 注销账户 from 我的, over HTTP as a browser sends them (zh-CN and English):
the zip downloads; the close page shows the refund first, what is deleted and what is kept
and why; a wrong password changes nothing; the right one closes the account once and logs
out."""

from __future__ import annotations

import io
import re
import zipfile

import httpx
from sqlalchemy import select

from redcard.models import Membership, MembershipStatus, User
from tests.fixtures.factories import PASSWORD, buy_card, login, new_user, setup_plans

CSRF = "csrf-token-for-tests"


async def web_login(client: httpx.AsyncClient, user: User) -> None:
    client.cookies.set("redcard_csrf", CSRF)
    response = await client.post(
        "/login", data={"csrf": CSRF, "phone": user.phone, "password": PASSWORD}
    )
    assert response.status_code == 303


def idempotency_key(page: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert match
    return match.group(1)


async def test_me_links_download_and_close_and_the_zip_downloads(client, db):
    member = await new_user(db, name="小红")
    await web_login(client, member)
    me = (await client.get("/me")).text
    assert re.search(
        r'<a href="/me/export" download id="download-my-data">.*?下载我的数据', me, re.S
    )
    assert re.search(r'<a href="/me/close" id="close-my-account">.*?注销账户', me, re.S)
    download = await client.get("/me/export")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert member.phone in archive.read("profile.csv").decode()


async def test_close_page_shows_the_refund_first_then_closes_once(client, db, sandbox):
    plans = await setup_plans(db)
    member = await new_user(db, name="小红")
    await buy_card(client, sandbox, await login(client, member), plans.annual.id)
    await web_login(client, member)

    page = (await client.get("/me/close")).text
    refund = page.index('id="close-refund"')
    assert refund < page.index('id="close-deleted"') < page.index('id="close-kept"')
    assert "会员卡将立即终止，你将获得退款" in page
    assert re.search(r'class="amount close-refund-amount">¥168.00<', page)
    assert "冷静期内退卡，全额退款。" in page
    assert "你的昵称、手机号和密码" in page
    assert "《电子商务法》规定至少三年" in page
    assert 'href="/me/export"' in page
    client.cookies.set("redcard_lang", "en")
    english = (await client.get("/me/close")).text
    client.cookies.delete("redcard_lang")
    assert "Your card ends now and you get back" in english
    assert "What is kept, and why" in english
    assert "China's E-commerce Law" in english or "China&#39;s E-commerce Law" in english

    key = idempotency_key(page)
    wrong = await client.post(
        "/me/close", data={"csrf": CSRF, "idempotency_key": key, "password": "not-mine-at-all"}
    )
    assert wrong.status_code == 422
    assert "当前密码不正确" in wrong.text
    async with db.session_scope() as session:
        assert (await session.get_one(User, member.id)).closed_at is None

    closed = await client.post(
        "/me/close", data={"csrf": CSRF, "idempotency_key": key, "password": PASSWORD}
    )
    assert closed.status_code == 200
    assert "你的账户已注销" in closed.text
    assert "你的退款 ¥168.00 将照常退回原支付账户。" in closed.text
    assert "redcard_session" not in client.cookies  # logged out here
    again = await client.post(
        "/me/close", data={"csrf": CSRF, "idempotency_key": key, "password": PASSWORD}
    )
    assert again.status_code == 303  # not logged in any more: to the login page
    assert (await client.get("/me")).headers["location"] == "/login?next=/me"
    async with db.session_scope() as session:
        user = await session.get_one(User, member.id)
        assert user.closed_at is not None
        assert user.phone != member.phone
        cards = (
            await session.scalars(select(Membership).where(Membership.member_id == member.id))
        ).all()
        assert [c.status for c in cards] == [MembershipStatus.refunded]
