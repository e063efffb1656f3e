"""The 消息 pages over HTTP: the unread badge on the 我的 tab and in 我的, the inbox list in
the reader's language, opening a message marks it read, the message settings (e-mail address,
marketing off), and the operator's outbox with its CSV."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from redcard import notifications
from redcard.delivery import service as delivery
from redcard.delivery.reminders import CARD_EXPIRING_7D, SAVINGS_SUMMARY
from redcard.models import Notification, User
from tests.fixtures.factories import new_operator, new_user
from tests.web.test_me import CSRF, idempotency_key, web_login


def badge(html: str) -> str | None:
    bar = re.search(r'<nav class="tabbar".*?</nav>', html, re.S)
    assert bar
    found = re.search(r'<span class="tab-badge"[^>]*>(\d+)</span>', bar.group(0))
    return found.group(1) if found else None


async def _deliver(db, member: User, *, n: int = 2) -> None:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        for _ in range(n):
            notifications.enqueue(
                session,
                member.id,
                CARD_EXPIRING_7D,
                ends_at="2026-12-08T04:00:00+00:00",
                link="http://test/card",
            )
    async with db.session_scope() as session:
        await delivery.send_pending(session)


async def test_the_badge_counts_unread_messages_and_opening_one_reads_it(
    client: httpx.AsyncClient, db
) -> None:  # type: ignore[no-untyped-def]
    member = await new_user(db)
    assert await web_login(client, member) == 303
    assert badge((await client.get("/me")).text) is None  # nothing yet: no badge
    await _deliver(db, member)

    me = (await client.get("/me")).text
    assert badge(me) == "2"
    assert "2 条未读" in me
    listing = (await client.get("/me/messages")).text
    assert listing.count('data-read="no"') == 2
    assert "你的会员卡还有 7 天到期" in listing
    first = re.search(r'href="/me/messages/([0-9a-f-]{36})"', listing)
    assert first

    opened = await client.get(f"/me/messages/{first.group(1)}")
    assert opened.status_code == 200
    assert "你的会员卡将于 2026-12-08 12:00 UTC+8 到期" in opened.text
    assert badge(opened.text) == "1"  # the one just opened no longer counts
    assert (
        badge((await client.get("/lang/en?next=/me/messages", follow_redirects=True)).text) == "1"
    )
    english = (await client.get("/me/messages")).text
    assert "Your card ends in 7 days" in english
    assert english.count('data-read="no"') == 1

    async with db.session_scope() as session:  # the language chosen is the messages' too
        assert (await session.get_one(User, member.id)).locale == "en"

    read_all = await client.post("/me/messages/read", data={"csrf": CSRF})
    assert read_all.status_code == 303
    assert badge((await client.get("/me")).text) is None


async def test_someone_elses_message_is_not_found(client: httpx.AsyncClient, db) -> None:  # type: ignore[no-untyped-def]
    owner, other = await new_user(db), await new_user(db)
    await _deliver(db, owner, n=1)
    async with db.session_scope() as session:
        note_id = await session.scalar(select(Notification.id))
    await web_login(client, other)
    assert (await client.get(f"/me/messages/{note_id}")).status_code == 404
    async with db.session_scope() as session:
        assert (await session.get_one(Notification, note_id)).read_at is None


async def test_a_member_sets_an_address_and_turns_marketing_off(
    client: httpx.AsyncClient, db
) -> None:  # type: ignore[no-untyped-def]
    member = await new_user(db)
    await web_login(client, member)
    page = (await client.get("/me/messages")).text
    bad = await client.post(
        "/me/messages/settings",
        data={
            "csrf": CSRF,
            "idempotency_key": idempotency_key(page, "/me/messages/settings"),
            "email": "not an address",
            "marketing": "yes",
        },
    )
    assert bad.status_code == 422
    assert "这不是有效的电子邮箱地址" in bad.text
    saved = await client.post(
        "/me/messages/settings",
        data={
            "csrf": CSRF,
            "idempotency_key": idempotency_key(page, "/me/messages/settings"),
            "email": " xh@example.com ",
        },  # the marketing box left unticked
    )
    assert saved.status_code == 303
    async with db.session_scope() as session:
        row = await session.get_one(User, member.id)
        assert (row.email, row.marketing_messages) == ("xh@example.com", False)
        notifications.enqueue(session, member.id, SAVINGS_SUMMARY, saved_fen=100, fee_fen=16800)
    await _deliver(db, member, n=1)
    listing = (await client.get("/me/messages")).text
    assert "你的会员卡还有 7 天到期" in listing
    assert "本月省钱月报" not in listing  # marketing: off, as asked


async def test_the_operator_sees_the_outbox_per_sink_and_downloads_it(
    client: httpx.AsyncClient, db
) -> None:  # type: ignore[no-untyped-def]
    member = await new_user(db)
    await _deliver(db, member)
    async with db.session_scope() as session:  # one more, not yet dispatched
        notifications.enqueue(session, member.id, CARD_EXPIRING_7D)
    await web_login(client, member)
    assert (await client.get("/operator/outbox")).status_code == 403
    await web_login(client, await new_operator(db))
    console = (await client.get("/operator")).text
    assert 'href="/operator/outbox"' in console
    page = (await client.get("/operator/outbox")).text
    inbox_row = re.search(r'<tr data-sink="inbox">(.*?)</tr>', page, re.S)
    assert inbox_row
    assert re.search(r'class="sent">2<', inbox_row.group(1))
    waiting = re.search(r'<tr data-sink="\(dispatch\)">(.*?)</tr>', page, re.S)
    assert waiting
    assert re.search(r'class="key queued">1<', waiting.group(1))
    assert "没有失败。" in page
    csv = await client.get("/operator/outbox/csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "sink,queued,sent,failed,oldest_queued_seconds"
    assert any(line.startswith("inbox,0,2,0,") for line in lines)

    scraped = (await client.get("/metrics")).text  # the same figures for Prometheus
    assert 'redcard_outbox_sent{sink="inbox"} 2.0' in scraped
    assert 'redcard_outbox_backlog{sink="(dispatch)"} 1.0' in scraped
    assert 'redcard_queue_depth{queue="notifications"} 1.0' in scraped
