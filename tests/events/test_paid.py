"""Paid events: the seat is held while the member pays, a lapsed hold passes the seat on, and a
cancelled event refunds every paid seat exactly once through the one refund path."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from redcard.events import tasks
from redcard.kit import time as clock
from redcard.ledger.accounts import Account
from redcard.ledger.service import balance
from redcard.models import Order, OrderStatus, Refund, RefundStatus, RegistrationStatus
from redcard.payments import refunds
from tests.fixtures.factories import (
    assert_ledger_ok,
    card_holders,
    event_row,
    idem,
    join_event,
    login,
    make_event,
    new_operator,
    out_trade_no,
    registration_of,
)

PRICE = 5800


async def pay_link(client, headers, event_id):
    response = await client.post(
        f"/api/v1/events/{event_id}/registration/pay", headers=headers | idem()
    )
    assert response.status_code == 200, response.text
    return response.json()["pay_url"]


async def join_and_pay(client, sandbox, headers, event_id):
    body = await join_event(client, headers, event_id)
    assert body["status"] == "awaiting_payment"
    await sandbox.pay(out_trade_no(await pay_link(client, headers, event_id)))
    await sandbox.flush_notifications()
    return body


async def settle_refunds(db, channels, sandbox):
    async with db.session_scope() as session:
        await refunds.process_due(session, channels, "http://test")
    await sandbox.settle_refunds()
    await sandbox.flush_notifications()


async def test_paid_seat_is_confirmed_when_the_channel_confirms(client, db, sandbox):
    event = await make_event(db, price_fen=PRICE, capacity=5)
    (member,) = await card_holders(db, 1, quick=False)
    headers = await login(client, member)
    body = await join_event(client, headers, event.id)
    assert body["status"] == "awaiting_payment"
    assert body["hold_expires_at"] is not None
    mine = await client.get(f"/api/v1/events/{event.id}/registration", headers=headers)
    assert mine.json()["status"] == "awaiting_payment"
    link = await pay_link(client, headers, event.id)
    assert link == await pay_link(client, headers, event.id)  # one order per hold
    await sandbox.pay(out_trade_no(link))
    await sandbox.flush_notifications()
    mine = await client.get(f"/api/v1/events/{event.id}/registration", headers=headers)
    assert mine.json()["status"] == "registered"
    assert len(mine.json()["code"]) == 9  # ABCD-EFGH
    async with db.session_scope() as session:
        assert await balance(session, Account.deferred_event_revenue) == -PRICE
    await assert_ledger_ok(db)


async def test_cancelled_paid_event_refunds_every_paid_seat_once(client, db, sandbox, channels):
    operator = await new_operator(db)
    event = await make_event(db, operator, price_fen=PRICE, capacity=3)
    members = await card_holders(db, 4, quick=False)
    heads = [await login(client, m) for m in members]
    for h in heads[:3]:
        await join_and_pay(client, sandbox, h, event.id)
    waiting = await join_event(client, heads[3], event.id)
    assert waiting["status"] == "waitlisted"

    op = await login(client, operator)
    key = idem()
    cancel = await client.post(
        f"/api/v1/manage/events/{event.id}/cancel", json={"reason": "场地维修"}, headers=op | key
    )
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled"
    replay = await client.post(
        f"/api/v1/manage/events/{event.id}/cancel", json={"reason": "场地维修"}, headers=op | key
    )
    assert replay.headers.get("Idempotent-Replayed") == "true"
    again = await client.post(
        f"/api/v1/manage/events/{event.id}/cancel", json={"reason": "再取消"}, headers=op | idem()
    )
    assert again.status_code == 409

    for _ in range(2):  # the worker may run more than once
        await settle_refunds(db, channels, sandbox)
    async with db.session_scope() as session:
        rows = (await session.scalars(select(Refund))).all()
        assert len(rows) == 3
        assert {r.status for r in rows} == {RefundStatus.succeeded}
        assert sum(r.amount_fen for r in rows) == 3 * PRICE
        paid_orders = await session.scalar(
            select(func.count()).where(Order.status == OrderStatus.refunded)
        )
        assert paid_orders == 3
        assert await balance(session, Account.deferred_event_revenue) == 0
        assert await balance(session, Account.channel_clearing) == 0
    for m in members:
        assert (await registration_of(db, event.id, m)).status == "event_cancelled"
    await assert_ledger_ok(db)


async def test_promoted_member_holds_the_seat_then_it_passes_on(client, db, sandbox, channels):
    clock.freeze(clock.utc_now())
    event = await make_event(db, price_fen=PRICE, capacity=1, hold_minutes=30)
    a, b, c = await card_holders(db, 3, quick=False)
    ha = await login(client, a)
    hb = await login(client, b)
    hc = await login(client, c)
    await join_and_pay(client, sandbox, ha, event.id)
    assert (await join_event(client, hb, event.id))["status"] == "waitlisted"
    assert (await join_event(client, hc, event.id))["status"] == "waitlisted"

    cancelled = await client.post(
        f"/api/v1/events/{event.id}/registration/cancel", headers=ha | idem()
    )
    assert cancelled.status_code == 200, cancelled.text
    promoted = await registration_of(db, event.id, b)
    assert promoted.status == RegistrationStatus.awaiting_payment
    assert promoted.hold_expires_at == clock.utc_now() + timedelta(minutes=30)

    clock.freeze(clock.utc_now() + timedelta(minutes=31))
    async with db.session_scope() as session:
        assert await tasks.expire_holds(session) == 1
    assert (await registration_of(db, event.id, b)).status == RegistrationStatus.released
    now_c = await registration_of(db, event.id, c)
    assert now_c.status == RegistrationStatus.awaiting_payment
    await sandbox.pay(out_trade_no(await pay_link(client, hc, event.id)))
    await sandbox.flush_notifications()
    assert (await registration_of(db, event.id, c)).status == RegistrationStatus.registered
    assert (await event_row(db, event.id)).registered == 1

    await settle_refunds(db, channels, sandbox)  # a's cancellation before the deadline
    async with db.session_scope() as session:
        (refund,) = (await session.scalars(select(Refund))).all()
        assert refund.amount_fen == PRICE
        assert refund.status == RefundStatus.succeeded
    await assert_ledger_ok(db)


async def test_payment_arriving_after_the_hold_lapsed_is_refunded(client, db, sandbox, channels):
    event = await make_event(db, price_fen=PRICE, capacity=1, hold_minutes=10)
    (a,) = await card_holders(db, 1, quick=False)
    ha = await login(client, a)
    await join_event(client, ha, event.id)
    link = await pay_link(client, ha, event.id)
    clock.freeze(clock.utc_now() + timedelta(minutes=11))
    async with db.session_scope() as session:
        assert await tasks.expire_holds(session) == 1
    assert (await event_row(db, event.id)).registered == 0
    await sandbox.pay(out_trade_no(link))  # the member paid anyway
    await sandbox.flush_notifications()
    await settle_refunds(db, channels, sandbox)
    async with db.session_scope() as session:
        (refund,) = (await session.scalars(select(Refund))).all()
        assert refund.status == RefundStatus.succeeded
        assert refund.amount_fen == PRICE
    assert (await event_row(db, event.id)).registered == 0
    await assert_ledger_ok(db)
