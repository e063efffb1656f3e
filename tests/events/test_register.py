"""Registering, the waitlist, cancelling and promotion, capacity edits, card rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from redcard.events import service
from redcard.events.schemas import EventUpdate
from redcard.kit import time as clock
from redcard.models import (
    EventRegistration,
    Membership,
    MembershipStatus,
    Notification,
    PlanKind,
    RegistrationStatus,
)
from tests.fixtures.factories import (
    cancel,
    card_holders,
    event_row,
    make_event,
    new_operator,
    register,
    registration_of,
)


async def templates_for(db, member):
    async with db.session_scope() as session:
        rows = await session.scalars(
            select(Notification.template)
            .where(Notification.user_id == member.id)
            .order_by(Notification.created_at, Notification.id)
        )
        return list(rows)


async def test_full_event_waitlists_and_a_cancellation_promotes_the_first(db, channels):
    event = await make_event(db, capacity=2)
    a, b, c, d = await card_holders(db, 4)
    for member in (a, b, c, d):
        await register(db, channels, member, event.id)

    assert (await event_row(db, event.id)).seats_left() == 0
    assert (await registration_of(db, event.id, a)).status == RegistrationStatus.registered
    waiting_c = await registration_of(db, event.id, c)
    waiting_d = await registration_of(db, event.id, d)
    assert waiting_c.status == waiting_d.status == RegistrationStatus.waitlisted
    assert waiting_c.waitlist_position < waiting_d.waitlist_position

    await cancel(db, a, event.id)
    assert (await registration_of(db, event.id, a)).status == RegistrationStatus.cancelled
    assert (await registration_of(db, event.id, c)).status == RegistrationStatus.registered
    assert (await registration_of(db, event.id, d)).status == RegistrationStatus.waitlisted
    assert (await event_row(db, event.id)).registered == 2
    assert await templates_for(db, c) == ["event_waitlisted", "event_promoted"]


async def test_registering_twice_is_refused(db, channels):
    event = await make_event(db)
    (member,) = await card_holders(db, 1)
    await register(db, channels, member, event.id)
    with pytest.raises(service.AlreadyRegistered):
        await register(db, channels, member, event.id)
    assert (await event_row(db, event.id)).registered == 1


async def test_cancel_then_join_again_reuses_the_registration(db, channels):
    event = await make_event(db, capacity=1)
    a, b = await card_holders(db, 2)
    await register(db, channels, a, event.id)
    await register(db, channels, b, event.id)
    await cancel(db, a, event.id)  # b is promoted
    again = await register(db, channels, a, event.id)
    assert again.status == RegistrationStatus.waitlisted
    async with db.session_scope() as session:
        rows = (await session.scalars(select(EventRegistration))).all()
    assert len(rows) == 2


async def test_cancellation_after_the_deadline_is_refused_but_the_waitlist_may_leave(db, channels):
    event = await make_event(db, capacity=1)
    a, b = await card_holders(db, 2)
    await register(db, channels, a, event.id)
    await register(db, channels, b, event.id)
    clock.freeze(event.cancel_deadline + timedelta(minutes=1))
    with pytest.raises(service.CancellationClosed):
        await cancel(db, a, event.id)
    left = await cancel(db, b, event.id)
    assert left.status == RegistrationStatus.cancelled
    assert (await event_row(db, event.id)).registered == 1


async def test_no_card_or_trial_card_on_a_card_only_event_cannot_register(db, channels):
    card_only = await make_event(db)
    open_to_trials = await make_event(db, eligibility="card_or_trial")
    (trial,) = await card_holders(db, 1, kind=PlanKind.trial)
    (paid,) = await card_holders(db, 1)
    async with db.session_scope() as session:
        card = await session.scalar(select(Membership).where(Membership.member_id == paid.id))
        card.status = MembershipStatus.suspended
    with pytest.raises(service.NoEligibleCard, match="active card holders"):
        await register(db, channels, trial, card_only.id)
    with pytest.raises(service.NoEligibleCard):
        await register(db, channels, paid, card_only.id)
    ok = await register(db, channels, trial, open_to_trials.id)
    assert ok.status == RegistrationStatus.registered


async def test_registration_window(db, channels):
    start = clock.utc_now() + timedelta(days=5)
    event = await make_event(
        db,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        registration_opens_at=start - timedelta(days=2),
        registration_closes_at=start - timedelta(hours=1),
    )
    (member,) = await card_holders(db, 1, kind=PlanKind.paid)
    with pytest.raises(service.RegistrationClosed, match="not opened"):
        await register(db, channels, member, event.id)
    clock.freeze(start - timedelta(minutes=30))
    with pytest.raises(service.RegistrationClosed, match="closed"):
        await register(db, channels, member, event.id)
    clock.freeze(start - timedelta(days=1))
    assert (await register(db, channels, member, event.id)).status == "registered"


async def test_capacity_grows_into_the_waitlist_and_cannot_shrink_below_registered(db, channels):

    operator = await new_operator(db)
    event = await make_event(db, operator, capacity=2)
    members = await card_holders(db, 4)
    for m in members:
        await register(db, channels, m, event.id)
    async with db.session_scope() as session:
        with pytest.raises(service.CapacityBelowRegistered, match="2 seats are already taken"):
            await service.update_event(session, operator, event.id, EventUpdate(capacity=1))
    async with db.session_scope() as session:
        grown = await service.update_event(session, operator, event.id, EventUpdate(capacity=3))
    assert grown.capacity == 3
    assert grown.registered == 3
    assert (await registration_of(db, event.id, members[2])).status == "registered"
    assert (await registration_of(db, event.id, members[3])).status == "waitlisted"


async def test_card_ending_releases_future_registrations_and_promotes(db, channels, settings):
    from redcard.events import tasks

    event = await make_event(db, capacity=1)
    a, b = await card_holders(db, 2)
    await register(db, channels, a, event.id)
    await register(db, channels, b, event.id)
    async with db.session_scope() as session:
        card = await session.scalar(select(Membership).where(Membership.member_id == a.id))
        card.status = MembershipStatus.refunded
    async with db.session_scope() as session:
        assert await tasks.release_ended_cards(session) == 1
    async with db.session_scope() as session:
        assert await tasks.release_ended_cards(session) == 0  # once
    assert (await registration_of(db, event.id, a)).status == RegistrationStatus.released
    assert (await registration_of(db, event.id, b)).status == RegistrationStatus.registered
    assert "event_registration_released" in await templates_for(db, a)
    with pytest.raises(service.NoEligibleCard):
        await register(db, channels, a, event.id)


async def test_release_for_member_is_callable_by_the_sunset(db, channels):
    event = await make_event(db, capacity=3)
    (a,) = await card_holders(db, 1)
    await register(db, channels, a, event.id)
    async with db.session_scope() as session:
        card = await session.scalar(select(Membership).where(Membership.member_id == a.id))
        card.status = MembershipStatus.suspended
        assert await service.release_for_member(session, a.id) == 1
    assert (await event_row(db, event.id)).registered == 0


async def test_reminder_a_day_before_is_sent_once(db, channels):
    from redcard.events import tasks

    event = await make_event(db, capacity=3)
    (a,) = await card_holders(db, 1)
    await register(db, channels, a, event.id)
    async with db.session_scope() as session:
        assert await tasks.send_reminders(session) == 0  # three days out
    clock.freeze(event.starts_at - timedelta(hours=23))
    for expected in (1, 0):
        async with db.session_scope() as session:
            assert await tasks.send_reminders(session) == expected
    assert (await templates_for(db, a)).count("event_reminder") == 1


async def test_no_shows_are_recorded_after_the_event(db, channels):
    from redcard.events import tasks

    event = await make_event(db, capacity=3)
    a, b = await card_holders(db, 2)
    await register(db, channels, a, event.id)
    await register(db, channels, b, event.id)
    clock.freeze(event.ends_at + timedelta(minutes=1))
    for _ in range(2):
        async with db.session_scope() as session:
            await tasks.record_no_shows(session)
    assert (await registration_of(db, event.id, a)).status == RegistrationStatus.no_show
    async with db.session_scope() as session:
        from redcard.events import stats

        (row,) = await stats.for_events(session, [await session.get_one(type(event), event.id)])
    assert row.no_shows == 2
    assert row.registrations == 2
    assert row.fill_rate == pytest.approx(2 / 3, abs=1e-3)
    assert row.checkin_rate == 0


async def test_the_worker_runs_the_events_step(db, channels, settings):
    from redcard.worker import Worker

    event = await make_event(db, capacity=1)
    (a,) = await card_holders(db, 1)
    await register(db, channels, a, event.id)
    clock.freeze(event.starts_at - timedelta(hours=2))
    done = await Worker(settings, db, channels).run_once()
    assert done["events"] == 1  # the reminder
    clock.freeze(event.ends_at + timedelta(seconds=1))
    assert (await Worker(settings, db, channels).run_once())["events"] == 1  # the no-show
    assert (await Worker(settings, db, channels).run_once())["events"] == 0
    assert (await registration_of(db, event.id, a)).status == RegistrationStatus.no_show
