"""The member's return from the cashier (status query) and the channel's notification can
confirm the same payment at the same moment; whichever locks second must see the first."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from redcard.models import JournalEntry, Membership, Payment, PaymentStatus
from redcard.payments import service as payments
from tests.fixtures.factories import assert_ledger_ok, count, idem, login, new_user, setup_plans


async def test_a_stale_copy_of_a_payment_is_refreshed_when_it_is_locked(
    client, db, channels, sandbox
):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    order = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    out_trade_no = order.json()["pay_url"].split("/sandbox/pay/")[1].split("?")[0]
    await sandbox.pay(out_trade_no)

    async with db.sessionmaker(expire_on_commit=False) as returning_member:
        stale = await returning_member.scalar(select(Payment))
        assert stale is not None
        await returning_member.commit()
        assert stale.status == PaymentStatus.pending  # what this request saw first
        await sandbox.flush_notifications()  # the notification confirms it meanwhile
        confirmed = await payments.sync_payment(returning_member, channels, stale)
        await returning_member.commit()
    assert confirmed.status == PaymentStatus.succeeded
    assert await count(db, Membership) == 1
    assert await count(db, JournalEntry) == 1
    await assert_ledger_ok(db)


async def test_the_returning_member_sees_the_order_paid_by_a_concurrent_notification(
    client, db, channels, sandbox
):
    from redcard.membership import service as membership
    from redcard.models import OrderStatus, User

    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    order = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    order_id = order.json()["id"]
    out_trade_no = order.json()["pay_url"].split("/sandbox/pay/")[1].split("?")[0]
    await sandbox.pay(out_trade_no)

    async with db.sessionmaker(expire_on_commit=False) as returning_member:
        member = await returning_member.scalar(select(User))
        seen = await membership.get_member_order(returning_member, member, uuid.UUID(order_id))
        await returning_member.commit()
        assert seen.status == OrderStatus.pending
        await sandbox.flush_notifications()  # confirmed by the channel meanwhile
        shown = await membership.refresh_order(returning_member, channels, member, seen.id)
        await returning_member.commit()
    assert shown.status == OrderStatus.paid
