"""Reminders by the clock (the clock moves, nothing sleeps): 7 days and 1 day before a card
ends (not for cards on auto-renew), the trial's end with a link to convert by choice, the
monthly savings summary on the month's last day; each once, however often the worker runs;
and a member who turned marketing off still gets the notices they are owed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from redcard.delivery import inbox, reminders
from redcard.delivery import service as delivery
from redcard.kit import time as clock
from redcard.ledger.savings import savings_entry
from redcard.ledger.service import post
from redcard.models import Membership, MembershipStatus, Notification, PlanKind, User
from tests.fixtures.factories import give_card, new_user, setup_plans

BASE = "https://redcard.test"
T0 = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


async def _card(db, kind: PlanKind = PlanKind.paid, days: int = 10, **fields: object) -> User:  # type: ignore[no-untyped-def]
    member = await new_user(db)
    async with db.session_scope() as session:
        card = await give_card(session, member, kind, days=days)
        card.auto_renew = bool(fields.pop("auto_renew", False))
        row = await session.get_one(User, member.id)
        for name, value in fields.items():
            setattr(row, name, value)
    return member


async def _run(db) -> int:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        return await reminders.run_step(session, BASE)


async def _templates(db, member: User) -> list[str]:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        return list(
            await session.scalars(
                select(Notification.template)
                .where(Notification.user_id == member.id)
                .order_by(Notification.created_at)
            )
        )


async def test_expiry_and_trial_reminders_come_once_each_as_the_clock_moves(db) -> None:  # type: ignore[no-untyped-def]
    plans = await setup_plans(db)
    clock.freeze(T0)
    paid = await _card(db)
    renewing = await _card(db, auto_renew=True)  # renewal tells this one itself
    trial = await _card(db, PlanKind.trial)
    ends = T0 + timedelta(days=10)

    assert await _run(db) == 0  # 10 days out: nothing yet

    clock.freeze(ends - timedelta(days=7) + timedelta(minutes=1))
    assert await _run(db) == 1
    assert await _run(db) == 0  # a re-run writes nothing
    assert await _templates(db, paid) == ["card_expiring_7d"]

    clock.freeze(ends - timedelta(days=3) + timedelta(minutes=1))
    assert await _run(db) == 1
    assert await _templates(db, trial) == ["trial_ending"]
    async with db.session_scope() as session:
        note = (
            await session.scalars(select(Notification).where(Notification.user_id == trial.id))
        ).one()
        assert note.params["link"] == f"{BASE}/buy/{plans.annual.id}"
        # the notice converts nothing: the trial stays a trial until the member buys
        card = (
            await session.scalars(select(Membership).where(Membership.member_id == trial.id))
        ).one()
        assert (card.kind, card.status) == (PlanKind.trial, MembershipStatus.active)

    clock.freeze(ends - timedelta(hours=23))
    assert await _run(db) == 1
    assert await _run(db) == 0
    assert await _templates(db, paid) == ["card_expiring_7d", "card_expiring_1d"]
    assert await _templates(db, renewing) == []
    assert await _templates(db, trial) == ["trial_ending"]


async def test_a_late_worker_sends_only_the_reminder_still_true(db) -> None:  # type: ignore[no-untyped-def]
    """A worker that first runs 20 hours before the end does not say "7 days"."""
    await setup_plans(db)
    clock.freeze(T0)
    member = await _card(db, days=1)
    clock.advance(timedelta(hours=4))
    assert await _run(db) == 1
    assert await _templates(db, member) == ["card_expiring_1d"]


async def _save(db, member: User, fen: int, at: datetime) -> None:  # type: ignore[no-untyped-def]
    clock.freeze(at)
    redemption = SimpleNamespace(
        id=uuid.uuid4(), member_id=member.id, merchant_id=uuid.uuid4(), discount_fen=fen
    )
    async with db.session_scope() as session:
        await post(session, savings_entry(redemption))


async def test_the_monthly_summary_comes_on_the_last_day_once_and_respects_the_opt_out(db) -> None:  # type: ignore[no-untyped-def]
    await setup_plans(db)
    clock.freeze(datetime(2026, 2, 1, 4, 0, tzinfo=UTC))
    keen = await _card(db, days=365, locale="zh_CN")
    quiet = await _card(db, days=38, marketing_messages=False)  # ends 2026-03-11
    await _save(db, keen, 800, datetime(2026, 2, 20, 4, 0, tzinfo=UTC))  # last month
    await _save(db, keen, 1200, datetime(2026, 3, 5, 4, 0, tzinfo=UTC))  # this month

    clock.freeze(datetime(2026, 3, 30, 15, 0, tzinfo=UTC))  # 23:00 on the 30th in Shanghai
    async with db.session_scope() as session:
        assert await reminders.savings_summary(session) == 0
    clock.freeze(datetime(2026, 3, 4, 4, 0, tzinfo=UTC))  # quiet's card: 7 days left
    assert await _run(db) == 1
    clock.freeze(datetime(2026, 3, 30, 16, 30, tzinfo=UTC))  # 00:30 on the 31st
    async with db.session_scope() as session:
        assert await reminders.savings_summary(session) == 1  # keen's; quiet's card ended
        assert await reminders.savings_summary(session) == 0
    async with db.session_scope() as session:
        summary = (
            await session.scalars(
                select(Notification).where(Notification.template == reminders.SAVINGS_SUMMARY)
            )
        ).one()
    assert summary.params == {
        "saved_fen": 1200,
        "fee_fen": 16800,
        "percent": 11,  # ¥20 of ¥168 in all
        "month": "2026-03",
    }

    async with db.session_scope() as session:
        await delivery.send_pending(session)
        got = await inbox.messages(session, keen.id, "zh_CN")
        assert [m.body for m in got] == ["本月为你省下 ¥12，会员费 ¥168，已回本 11%"]
        english = await inbox.messages(session, keen.id, "en")
        assert english[0].body == (
            "This month you saved ¥12. The card costs ¥168, and has paid back 11% of it."
        )
        assert [m.template for m in await inbox.messages(session, quiet.id, "zh_CN")] == [
            "card_expiring_7d"
        ]


async def test_marketing_off_drops_marketing_messages_but_never_notices(db) -> None:  # type: ignore[no-untyped-def]
    await setup_plans(db)
    clock.freeze(datetime(2026, 3, 31, 4, 0, tzinfo=UTC))  # the month's last day
    quiet = await _card(db, days=5, marketing_messages=False)
    assert await _run(db) == 2  # the 7-day notice and the summary are both written …
    async with db.session_scope() as session:
        await delivery.send_pending(session)
        shown = [m.template for m in await inbox.messages(session, quiet.id, "zh_CN")]
    assert shown == ["card_expiring_7d"]  # … and only the notice is delivered

    async with db.session_scope() as session:  # marketing on again: next month's comes
        row = await session.get_one(User, quiet.id)
        row.marketing_messages = True
        card = (
            await session.scalars(select(Membership).where(Membership.member_id == quiet.id))
        ).one()
        card.ends_at = datetime(2026, 12, 31, tzinfo=UTC)
    clock.freeze(datetime(2026, 4, 30, 4, 0, tzinfo=UTC))
    assert await _run(db) == 1
    async with db.session_scope() as session:
        await delivery.send_pending(session)
        shown = [m.template for m in await inbox.messages(session, quiet.id, "zh_CN")]
    assert shown == ["savings_summary", "card_expiring_7d"]


@pytest.mark.postgres_only
async def test_two_workers_at_once_write_each_reminder_once(db) -> None:  # type: ignore[no-untyped-def]
    await setup_plans(db)
    clock.freeze(T0)
    members = [await _card(db, days=5) for _ in range(20)]

    async def worker() -> int:
        return await _run(db)

    written = await asyncio.gather(*(worker() for _ in range(4)))
    assert sum(written) == len(members)
    async with db.session_scope() as session:
        count = await session.scalar(
            select(func.count()).where(Notification.template == reminders.CARD_EXPIRING_7D)
        )
    assert count == len(members)
