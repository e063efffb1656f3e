"""The demo's messages: the annual member's savings summary this month, delivered with the
messages the other demos wrote (event bookings) to the members' inboxes, and by e-mail when
REDCARD_SMTP_HOST is set and they have an address, like any other message. The oldest is
read, so the inbox shows both kinds."""

from __future__ import annotations

from sqlalchemy import select

from redcard import notifications
from redcard.db import Database
from redcard.delivery import reminders
from redcard.delivery.service import send_pending
from redcard.kit.time import business_day, utc_now
from redcard.ledger.savings import savings_fen, savings_since
from redcard.membership import repository as cards
from redcard.membership import service as membership
from redcard.models import Notification, User


async def seed(db: Database, *, member_phone: str) -> None:
    now = utc_now()
    async with db.session_scope() as session:
        member = await session.scalar(select(User).where(User.phone == member_phone))
        assert member is not None
        card = await cards.get_active_by_member(session, member.id)
        plan = await membership.featured_plan(session)
        if card is not None and plan is not None:
            since = reminders.month_start(now)
            saved = await savings_since(session, member.id, since)
            total = await savings_fen(session, member.id)
            notifications.enqueue(
                session,
                member.id,
                reminders.SAVINGS_SUMMARY,
                saved_fen=saved,
                fee_fen=plan.price_fen,
                percent=total * 100 // plan.price_fen if plan.price_fen else 0,
                month=business_day(now).strftime("%Y-%m"),
            )
    async with db.session_scope() as session:
        while await send_pending(session):
            pass
    async with db.session_scope() as session:  # the oldest of the member's messages was read
        oldest = await session.scalar(
            select(Notification)
            .where(Notification.user_id == member.id, Notification.inbox_at.is_not(None))
            .order_by(Notification.inbox_at, Notification.id)
            .limit(1)
        )
        if oldest is not None:
            oldest.read_at = now
