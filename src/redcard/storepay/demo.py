"""Demo 持卡买单 history: the demo member pays a few bills at the demo staff's stores yesterday
(one undone by the staff), yesterday is settled into a statement, and two bills are paid today
so the staff's /merchant/bills page has fresh ones. Runs after the merchants' demo seeding;
does nothing if that is missing or if 买单 history exists already."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from redcard.db import Database
from redcard.kit import time as clock
from redcard.membership import repository as membership_repo
from redcard.merchants import access
from redcard.merchants.demo import STAFF_PHONE
from redcard.models import (
    Payment,
    Redemption,
    RedemptionKind,
    Store,
    StoreStatus,
    User,
)
from redcard.payments import service as payments
from redcard.payments.channels import Channels
from redcard.payments.sandbox import Fault, SandboxChannel
from redcard.settlement import service as settlement
from redcard.storepay import service

log = logging.getLogger(__name__)
YESTERDAY = ((12, 5, 8800), (13, 40, 15600), (19, 15, 4250), (20, 30, 23000))
UNDONE = 2  # the third bill of yesterday is undone by the staff ten minutes later
TODAY_MINUTES_AGO = ((30, 6600), (5, 12900))


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.zone())


async def _pay(
    db: Database, channels: Channels, base_url: str, member_id: uuid.UUID, store: Store, fen: int
) -> uuid.UUID:
    async with db.session_scope() as session:
        member = await session.get_one(User, member_id)
        bill = await service.create_bill(
            session, channels, member, store.pay_code, fen, base_url=base_url
        )
        out_trade_no, redemption_id = bill.payment.out_trade_no, bill.redemption.id
    sandbox = channels.default
    assert isinstance(sandbox, SandboxChannel)
    sandbox.inject("notify", Fault.delay_notification)  # no server is listening yet
    await sandbox.pay(out_trade_no)
    sandbox.held.clear()
    async with db.session_scope() as session:
        payment = await session.scalar(select(Payment).where(Payment.out_trade_no == out_trade_no))
        assert payment is not None
        await payments.sync_payment(session, channels, payment)  # confirmed by status query
    return redemption_id


async def seed(db: Database, channels: Channels, base_url: str, *, member_phone: str) -> int:
    """Returns how many bills it paid."""
    async with db.session_scope() as session:
        if await session.scalar(
            select(Redemption.id).where(Redemption.kind == RedemptionKind.pay).limit(1)
        ):
            return 0
        staff = await session.scalar(select(User).where(User.phone == STAFF_PHONE))
        member = await session.scalar(select(User).where(User.phone == member_phone))
        if staff is None or member is None:
            log.info("storepay demo: no demo staff or member; skipped")
            return 0
        stores = [
            store
            for store in await access.stores_for(session, staff)
            if store.status == StoreStatus.live
        ][:2]
        card = await membership_repo.get_active_by_member(session, member.id)
        if not stores or card is None:
            log.info("storepay demo: no live store or no card for the demo member; skipped")
            return 0
        staff_id, member_id, card_starts = staff.id, member.id, card.starts_at
    now = clock.utc_now()
    yesterday = clock.business_day(now) - timedelta(days=1)
    paid = 0
    for n, (hour, minute, fen) in enumerate(YESTERDAY):
        at = _at(yesterday, hour, minute)
        if at <= card_starts:
            continue
        with clock.frozen(at):
            redemption_id = await _pay(
                db, channels, base_url, member_id, stores[n % len(stores)], fen
            )
        paid += 1
        if n == UNDONE:
            with clock.frozen(at + timedelta(minutes=10)):
                async with db.session_scope() as session:
                    staff = await session.get_one(User, staff_id)
                    await service.undo_bill(session, staff, redemption_id)
    if paid:
        async with db.session_scope() as session:
            await settlement.settle_day(session, yesterday)
    for minutes_ago, fen in TODAY_MINUTES_AGO:
        at = now - timedelta(minutes=minutes_ago)
        if at <= card_starts:
            continue
        with clock.frozen(at):
            await _pay(db, channels, base_url, member_id, stores[0], fen)
        paid += 1
    return paid
