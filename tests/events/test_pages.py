"""The event pages over HTTP: Chinese by default, one-tap register and cancel, staff pages."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from redcard.kit import time as clock
from redcard.models import Event, Role
from tests.fixtures.factories import (
    card_holders,
    count,
    login,
    make_event,
    new_operator,
    new_user,
    register,
    registration_of,
)

CSRF = "csrf-token-for-tests"


def form(**fields: str) -> dict[str, str]:
    return {"csrf": CSRF, **fields}


async def test_member_registers_and_cancels_on_the_pages(client, db):
    event = await make_event(db, capacity=1, title="咖啡品鉴")
    (member,) = await card_holders(db, 1, quick=False)
    headers = await login(client, member)
    client.cookies.set("redcard_csrf", CSRF)

    listing = await client.get("/events", headers=headers)
    assert listing.status_code == 200
    assert "会员专属活动" in listing.text
    assert "剩余 1 个名额" in listing.text
    assert "/api/v1/events/seats?" in listing.text  # live seat counts

    page = await client.get(f"/events/{event.id}", headers=headers)
    assert "立即报名" in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)
    done = await client.post(
        f"/events/{event.id}/register", data=form(idempotency_key=key), headers=headers
    )
    assert done.status_code == 303
    again = await client.post(  # a double tap replays, it does not register twice
        f"/events/{event.id}/register", data=form(idempotency_key=key), headers=headers
    )
    assert again.status_code == 303
    ticket = await client.get(done.headers["location"], headers=headers)
    assert "您已报名" in ticket.text
    reg = await registration_of(db, event.id, member)
    assert f"{reg.code[:4]}-{reg.code[4:]}" in ticket.text
    assert "<svg" in ticket.text  # the QR code

    key = re.search(r'name="idempotency_key" value="([^"]+)"', ticket.text).group(1)
    cancelled = await client.post(
        f"/events/{event.id}/cancel", data=form(idempotency_key=key), headers=headers
    )
    assert cancelled.status_code == 303
    assert (
        "您的报名已取消" in (await client.get(cancelled.headers["location"], headers=headers)).text
    )


async def test_seats_endpoint_reports_live_counts(client, db, channels):

    event = await make_event(db, capacity=1)
    a, b = await card_holders(db, 2)
    await register(db, channels, a, event.id)
    await register(db, channels, b, event.id)
    seats = await client.get("/api/v1/events/seats", params={"ids": [str(event.id)]})
    assert seats.json() == [
        {
            "id": str(event.id),
            "capacity": 1,
            "seats_left": 0,
            "waitlist": 1,
            "status": "scheduled",
        }
    ]


async def test_register_error_is_shown_on_the_page(client, db):
    event = await make_event(db)
    member = await new_user(db)  # no card
    headers = await login(client, member)
    client.cookies.set("redcard_csrf", CSRF)
    page = await client.post(
        f"/events/{event.id}/register", data=form(idempotency_key="k" * 16), headers=headers
    )
    assert page.status_code == 403
    assert "本活动仅限有效年卡会员参加" in page.text


async def test_operator_creates_an_event_and_exports_csv(client, db):
    operator = await new_operator(db)
    headers = await login(client, operator)
    client.cookies.set("redcard_csrf", CSRF)
    start = (clock.utc_now() + timedelta(days=7)).astimezone()
    created = await client.post(
        "/manage/events",
        data=form(
            title="夜跑",
            venue="滨江步道",
            starts_at=start.strftime("%Y-%m-%dT19:00"),
            duration_hours="2",
            capacity="30",
            price_yuan="０",
            eligibility="card_or_trial",
            cancel_hours_before="12",
        ),
        headers=headers,
    )
    assert created.status_code == 303, created.text
    detail = await client.get(created.headers["location"], headers=headers)
    assert "夜跑" in detail.text
    assert "签到码" in detail.text
    shrink = await client.post(
        created.headers["location"] + "/capacity", data=form(capacity="0"), headers=headers
    )
    assert shrink.status_code == 409
    csv = await client.get("/manage/events.csv", headers=headers)
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("event_id,title,starts_at,status,capacity,registrations,waitlist")
    assert "夜跑" in lines[1]

    bad = await client.post(
        "/manage/events", data=form(title="x", venue="y", capacity="5"), headers=headers
    )
    assert bad.status_code == 422


async def test_merchant_sees_only_their_stores_events(client, db):
    await make_event(db, title="运营的活动")
    staff = await new_user(db, role=Role.merchant_staff, name="店员")
    headers = await login(client, staff)
    page = await client.get("/manage/events", headers=headers)
    assert page.status_code == 200
    assert "运营的活动" not in page.text
    assert (await client.get("/manage/events", headers={})).status_code == 303


async def test_full_event_offers_the_waitlist_and_shows_the_place_in_line(client, db, channels):

    event = await make_event(db, capacity=1)
    seated, member = await card_holders(db, 2, quick=False)
    await register(db, channels, seated, event.id)
    headers = await login(client, member)
    client.cookies.set("redcard_csrf", CSRF)
    page = await client.get(f"/events/{event.id}", headers=headers)
    assert "加入候补" in page.text
    assert "已满 · 候补 0 人" in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)
    done = await client.post(
        f"/events/{event.id}/register", data=form(idempotency_key=key), headers=headers
    )
    waiting = await client.get(done.headers["location"], headers=headers)
    assert "您在候补名单中 · 前面还有 0 人" in waiting.text
    assert "退出候补" in waiting.text
    assert "<svg" not in waiting.text  # no code until a seat is held


async def test_the_event_form_refuses_ambiguous_numbers_and_writes_nothing(client, db):
    """Price and hours are read exactly (never through float); a typo gets a 422 saying why."""
    headers = await login(client, await new_operator(db))
    client.cookies.set("redcard_csrf", CSRF)
    start = (clock.utc_now() + timedelta(days=7)).astimezone().strftime("%Y-%m-%dT19:00")
    good = {"title": "夜跑", "venue": "滨江步道", "starts_at": start, "capacity": "30"}
    for change, reason in (  # the pages speak Chinese by default
        ({"price_yuan": "12,50"}, "“,”有歧义"),
        ({"price_yuan": ",5"}, "“,”有歧义"),
        ({"duration_hours": "1e3"}, "最多两位小数"),
        ({"duration_hours": "inf"}, "最多两位小数"),
        ({"duration_hours": "1.255"}, "最多两位小数"),
        ({"duration_hours": "2,5"}, "小时数请用“.”作小数点"),
        ({"duration_hours": "99999999999"}, "最多填写 8784 小时"),
        ({"cancel_hours_before": "99999999999"}, "最多填写 8784 小时"),
    ):
        bad = await client.post("/manage/events", data=form(**good, **change), headers=headers)
        assert bad.status_code == 422, change
        assert reason in bad.text, change
    assert await count(db, Event) == 0
    done = await client.post(
        "/manage/events", data=form(**good, duration_hours="1.75"), headers=headers
    )
    assert done.status_code == 303, done.text
    async with db.session_scope() as session:
        (event,) = await session.scalars(select(Event))
        assert event.ends_at - event.starts_at == timedelta(hours=1, minutes=45)
