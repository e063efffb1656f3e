"""Seats under contention, on PostgreSQL: parallel sessions, each its own transaction."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from redcard.errors import AppError
from redcard.events import service
from redcard.models import Event, EventRegistration, RegistrationStatus
from redcard.models.event_registration import SEAT_STATUSES
from tests.fixtures.factories import card_holders, make_event, new_operator

pytestmark = pytest.mark.postgres_only


async def attempt(db, coro_factory):
    try:
        async with db.session_scope() as session:
            return await coro_factory(session)
    except AppError as exc:
        return exc


async def invariants(db, event_id):
    async with db.session_scope() as session:
        event = await session.get_one(Event, event_id)
        seats = await session.scalar(
            select(func.count()).where(
                EventRegistration.event_id == event_id,
                EventRegistration.status.in_(SEAT_STATUSES),
            )
        )
        members = await session.scalar(
            select(func.count(EventRegistration.member_id.distinct())).where(
                EventRegistration.event_id == event_id
            )
        )
        rows = await session.scalar(
            select(func.count()).where(EventRegistration.event_id == event_id)
        )
    assert 0 <= event.registered <= event.capacity
    assert event.registered == seats
    assert members == rows
    return event


async def test_200_members_race_for_50_seats(db, channels):
    event = await make_event(db, capacity=50)
    members = await card_holders(db, 200)

    results = await asyncio.gather(
        *(
            attempt(
                db,
                lambda s, m=m: service.register(s, channels, m, event.id, base_url="http://t"),
            )
            for m in members
        )
    )
    assert not [r for r in results if isinstance(r, Exception)]
    statuses = [r.status for r in results]
    assert statuses.count(RegistrationStatus.registered) == 50
    assert statuses.count(RegistrationStatus.waitlisted) == 150
    row = await invariants(db, event.id)
    assert row.registered == 50
    async with db.session_scope() as session:
        positions = list(
            await session.scalars(
                select(EventRegistration.waitlist_position).where(
                    EventRegistration.event_id == event.id,
                    EventRegistration.status == RegistrationStatus.waitlisted,
                )
            )
        )
    assert sorted(positions) == list(range(1, 151))  # no gaps, no duplicates


async def test_cancellations_and_registrations_in_parallel_keep_seats_and_order(db, channels):
    event = await make_event(db, capacity=20)
    first = await card_holders(db, 40)
    for m in first:  # 20 seated, 20 waiting (positions 1..20)
        async with db.session_scope() as session:
            await service.register(session, channels, m, event.id, base_url="http://t")
    newcomers = await card_holders(db, 30)

    cancels = [
        attempt(db, lambda s, m=m: service.cancel_registration(s, m, event.id)) for m in first[:12]
    ]
    joins = [
        attempt(db, lambda s, m=m: service.register(s, channels, m, event.id, base_url="http://t"))
        for m in newcomers
    ]
    results = await asyncio.gather(*cancels, *joins)
    assert not [r for r in results if isinstance(r, Exception)]
    row = await invariants(db, event.id)
    assert row.registered == 20  # every freed seat went to the waitlist

    async with db.session_scope() as session:
        regs = (
            await session.scalars(
                select(EventRegistration).where(EventRegistration.event_id == event.id)
            )
        ).all()
    promoted = [r.waitlist_position for r in regs if r.promoted_at is not None]
    still_waiting = [r.waitlist_position for r in regs if r.status == "waitlisted"]
    assert len(promoted) == 12
    assert max(promoted) < min(still_waiting)  # the head of the queue went first
    by_member = {r.member_id: r for r in regs}
    # newcomers never jumped the queue: all 30 are waitlisted behind the originals
    assert all(by_member[m.id].status == "waitlisted" for m in newcomers)
    assert sorted(promoted) == list(range(1, 13))


async def test_parallel_capacity_cut_and_registrations_never_overbook(db, channels):
    from redcard.events.schemas import EventUpdate

    operator = await new_operator(db)
    event = await make_event(db, operator, capacity=30)
    members = await card_holders(db, 40)
    cuts = [
        attempt(
            db, lambda s, c=c: service.update_event(s, operator, event.id, EventUpdate(capacity=c))
        )
        for c in (10, 15, 25)
    ]
    joins = [
        attempt(db, lambda s, m=m: service.register(s, channels, m, event.id, base_url="http://t"))
        for m in members
    ]
    await asyncio.gather(*joins[:20], *cuts, *joins[20:])
    await invariants(db, event.id)
