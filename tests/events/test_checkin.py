"""Check-in at the door, through the API as staff use it."""

from __future__ import annotations

from datetime import timedelta

from redcard.kit import time as clock
from redcard.models import Role
from tests.fixtures.factories import (
    card_holders,
    idem,
    join_event,
    login,
    make_event,
    new_operator,
    new_user,
)


async def check_in(client, headers, event_id, code):
    return await client.post(
        f"/api/v1/manage/events/{event_id}/checkins", json={"code": code}, headers=headers | idem()
    )


async def setup(client, db):
    clock.freeze(clock.utc_now())
    operator = await new_operator(db)
    event = await make_event(db, operator, capacity=1)
    other = await make_event(db, operator, capacity=5, title="另一场活动")
    a, b = await card_holders(db, 2, quick=False)
    ha, hb = await login(client, a), await login(client, b)
    seat = await join_event(client, ha, event.id)
    waiting = await join_event(client, hb, event.id)
    clock.freeze(event.starts_at - timedelta(minutes=30))
    return operator, event, other, seat, waiting, await login(client, operator), ha


async def test_check_in_once_then_refused(client, db):
    _, event, _, seat, _, op, _ = await setup(client, db)
    first = await check_in(client, op, event.id, seat["code"].lower().replace("-", " "))
    assert first.status_code == 200, first.text
    assert first.json()["member"].startswith("会")
    assert "**" in first.json()["member"]  # staff see a masked name only
    second = await check_in(client, op, event.id, seat["code"])
    assert second.status_code == 409
    assert second.json()["error"] == "AlreadyCheckedIn"
    stats = (await client.get(f"/api/v1/manage/events/{event.id}/stats", headers=op)).json()
    assert stats["checked_in"] == 1
    assert stats["checkin_rate"] == 1.0
    assert stats["waitlist"] == 1


async def test_code_for_another_event_is_refused(client, db):
    _, event, other, seat, _, op, _ = await setup(client, db)
    clock.freeze(other.starts_at - timedelta(minutes=30))
    wrong = await check_in(client, op, other.id, seat["code"])
    assert wrong.status_code == 409
    assert wrong.json()["error"] == "WrongEvent"


async def test_bad_codes_all_get_the_same_generic_error(client, db):
    _, event, _, _, waiting, op, _ = await setup(client, db)
    assert waiting["code"] is None  # a waitlisted member is never shown a code
    from sqlalchemy import select

    from redcard.models import EventRegistration, RegistrationStatus

    async with db.session_scope() as session:
        wl = await session.scalar(
            select(EventRegistration).where(
                EventRegistration.status == RegistrationStatus.waitlisted
            )
        )
        waitlisted_code = wl.code
    answers = [
        await check_in(client, op, event.id, code)
        for code in ("ZZZZ-ZZZZ", "nonsense", "1", waitlisted_code, "' OR 1=1 --")
    ]
    assert {r.status_code for r in answers} == {422}
    assert {(r.json()["error"], r.json()["detail"]) for r in answers} == {
        ("InvalidCode", "this code is not valid")
    }


async def test_check_in_only_around_the_event_and_only_by_its_staff(client, db):
    _, event, _, seat, _, op, _ = await setup(client, db)
    clock.freeze(event.starts_at - timedelta(hours=3))
    early = await check_in(client, op, event.id, seat["code"])
    assert early.status_code == 409
    assert early.json()["error"] == "CheckInClosed"
    clock.freeze(event.starts_at)
    stranger = await login(client, await new_user(db, role=Role.merchant_staff, name="店员"))
    refused = await check_in(client, stranger, event.id, seat["code"])
    assert refused.status_code == 404  # not their store's event
    member = await check_in(
        client,
        await login(client, (await card_holders(db, 1, quick=False))[0]),
        event.id,
        seat["code"],
    )
    assert member.status_code == 403


async def make_store(db, staff):
    import secrets

    from redcard.models import Merchant, MerchantStatus, Store, StoreStaff, StoreStatus

    async with db.session_scope() as session:
        merchant = Merchant(
            name="小店",
            contact_name="店主",
            contact_phone="13700000000",
            owner_id=staff.id,
            status=MerchantStatus.approved,
            commission_bp=0,
            payment_fee_bp=60,
            fee_threshold_fen=100_000_000,
            fee_above_bp=60,
        )
        session.add(merchant)
        await session.flush()
        store = Store(
            merchant_id=merchant.id,
            name="小店静安店",
            category="cafe",
            lat=31.2,
            lng=121.4,
            status=StoreStatus.live,
            discount_bp=1000,
            pay_code=secrets.token_urlsafe(8),
        )
        session.add(store)
        await session.flush()
        session.add(StoreStaff(user_id=staff.id, store_id=store.id))
        return store


async def test_merchant_runs_events_only_at_their_own_stores(client, db):
    staff = await new_user(db, role=Role.merchant_staff, name="店员")
    other = await new_user(db, role=Role.merchant_staff, name="别家")
    mine = await make_store(db, staff)
    theirs = await make_store(db, other)
    headers = await login(client, staff)
    start = clock.utc_now() + timedelta(days=2)
    body = {
        "title": "拉花课",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "capacity": 6,
    }
    ok = await client.post(
        "/api/v1/manage/events", json=body | {"store_id": str(mine.id)}, headers=headers | idem()
    )
    assert ok.status_code == 201, ok.text
    refused = await client.post(
        "/api/v1/manage/events",
        json=body | {"store_id": str(theirs.id)},
        headers=headers | idem(),
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "NotYourStore"
    no_tz = await client.post(
        "/api/v1/manage/events",
        json=body | {"store_id": str(mine.id), "starts_at": "2026-12-24T19:00:00"},
        headers=headers | idem(),
    )
    assert no_tz.status_code == 422
    listed = (await client.get("/api/v1/manage/events", headers=headers)).json()
    assert [e["title"] for e in listed] == ["拉花课"]
    other_view = (
        await client.get("/api/v1/manage/events", headers=await login(client, other))
    ).json()
    assert other_view == []
