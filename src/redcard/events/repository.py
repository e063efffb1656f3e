"""Queries for events and registrations. Every seat change is a conditional UPDATE checked by
its row count; nothing here reads a count and writes it back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.sql import rowcount
from redcard.models import (
    Event,
    EventEligibility,
    EventRegistration,
    EventStatus,
    Membership,
    MembershipStatus,
    PlanKind,
    RegistrationStatus,
    Store,
    StoreStatus,
    User,
)
from redcard.models.event_registration import LIVE_STATUSES, SEAT_STATUSES


# -- seats ------------------------------------------------------------------------------------
async def take_seat(session: AsyncSession, event_id: uuid.UUID) -> bool:
    """One seat, only if one is free: `registered < capacity` is part of the UPDATE."""
    result = await session.execute(
        update(Event)
        .where(
            Event.id == event_id,
            Event.status == EventStatus.scheduled,
            Event.registered < Event.capacity,
        )
        .values(registered=Event.registered + 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def free_seat(session: AsyncSession, event_id: uuid.UUID) -> bool:
    result = await session.execute(
        update(Event)
        .where(Event.id == event_id, Event.registered > 0)
        .values(registered=Event.registered - 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def next_waitlist_position(session: AsyncSession, event_id: uuid.UUID) -> int:
    result = await session.execute(
        update(Event)
        .where(Event.id == event_id)
        .values(waitlist_seq=Event.waitlist_seq + 1)
        .returning(Event.waitlist_seq)
        .execution_options(synchronize_session=False)
    )
    return int(result.scalar_one())


async def set_capacity(session: AsyncSession, event_id: uuid.UUID, capacity: int) -> bool:
    """Refused (False) when more seats are taken than the new capacity."""
    result = await session.execute(
        update(Event)
        .where(Event.id == event_id, Event.registered <= capacity)
        .values(capacity=capacity)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def move(
    session: AsyncSession,
    registration_id: uuid.UUID,
    from_statuses: Sequence[RegistrationStatus],
    **values: object,
) -> bool:
    """Change a registration's status only if it is still in one of `from_statuses`."""
    result = await session.execute(
        update(EventRegistration)
        .where(
            EventRegistration.id == registration_id,
            EventRegistration.status.in_(list(from_statuses)),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


# -- reading ----------------------------------------------------------------------------------
async def get_event(session: AsyncSession, event_id: uuid.UUID) -> Event | None:
    return await session.get(Event, event_id, populate_existing=True)


async def get_registration(
    session: AsyncSession, registration_id: uuid.UUID
) -> EventRegistration | None:
    return await session.get(EventRegistration, registration_id, populate_existing=True)


async def get_by_member(
    session: AsyncSession, event_id: uuid.UUID, member_id: uuid.UUID
) -> EventRegistration | None:
    return await session.scalar(
        select(EventRegistration)
        .where(EventRegistration.event_id == event_id, EventRegistration.member_id == member_id)
        .execution_options(populate_existing=True)
    )


async def get_by_code(session: AsyncSession, code: str) -> EventRegistration | None:
    return await session.scalar(
        select(EventRegistration)
        .where(EventRegistration.code == code)
        .execution_options(populate_existing=True)
    )


async def get_by_order(session: AsyncSession, order_id: uuid.UUID) -> EventRegistration | None:
    return await session.scalar(
        select(EventRegistration)
        .where(EventRegistration.order_id == order_id)
        .execution_options(populate_existing=True)
    )


async def first_waitlisted(session: AsyncSession, event_id: uuid.UUID) -> EventRegistration | None:
    return await session.scalar(
        select(EventRegistration)
        .where(
            EventRegistration.event_id == event_id,
            EventRegistration.status == RegistrationStatus.waitlisted,
        )
        .order_by(EventRegistration.waitlist_position)
        .limit(1)
        .execution_options(populate_existing=True)
    )


async def waitlist_ahead(session: AsyncSession, registration: EventRegistration) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                EventRegistration.event_id == registration.event_id,
                EventRegistration.status == RegistrationStatus.waitlisted,
                EventRegistration.waitlist_position < (registration.waitlist_position or 0),
            )
        )
        or 0
    )


async def list_upcoming(session: AsyncSession, now: datetime) -> Sequence[Event]:
    return (
        await session.scalars(
            select(Event)
            .where(Event.status == EventStatus.scheduled, Event.ends_at > now)
            .order_by(Event.starts_at, Event.id)
        )
    ).all()


async def list_for_staff(
    session: AsyncSession, store_ids: Sequence[uuid.UUID] | None
) -> Sequence[Event]:
    """All events (operator, store_ids None) or those at the given stores (merchant)."""
    stmt = select(Event).order_by(Event.starts_at.desc(), Event.id)
    if store_ids is not None:
        stmt = stmt.where(Event.store_id.in_(list(store_ids)))
    return (await session.scalars(stmt)).all()


async def live_stores(session: AsyncSession, limit: int = 200) -> Sequence[Store]:
    return (
        await session.scalars(
            select(Store).where(Store.status == StoreStatus.live).order_by(Store.name).limit(limit)
        )
    ).all()


async def stores_by_id(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Store]:
    if not ids:
        return {}
    rows = await session.scalars(select(Store).where(Store.id.in_(sorted(set(ids)))))
    return {store.id: store for store in rows}


async def masked_names(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(sorted(set(user_ids)))))
    return {user.id: user.masked_name for user in rows}


async def waitlist_counts(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not event_ids:
        return {}
    rows = await session.execute(
        select(EventRegistration.event_id, func.count())
        .where(
            EventRegistration.event_id.in_(list(event_ids)),
            EventRegistration.status == RegistrationStatus.waitlisted,
        )
        .group_by(EventRegistration.event_id)
    )
    return {event_id: int(n) for event_id, n in rows.all()}


async def status_counts(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    counts: dict[uuid.UUID, dict[str, int]] = {i: {} for i in event_ids}
    if not event_ids:
        return counts
    rows = await session.execute(
        select(EventRegistration.event_id, EventRegistration.status, func.count())
        .where(EventRegistration.event_id.in_(list(event_ids)))
        .group_by(EventRegistration.event_id, EventRegistration.status)
    )
    for event_id, status, n in rows.all():
        counts[event_id][str(status)] = int(n)
    return counts


async def list_by_member(
    session: AsyncSession, member_id: uuid.UUID
) -> Sequence[tuple[EventRegistration, Event]]:
    rows = await session.execute(
        select(EventRegistration, Event)
        .join(Event, Event.id == EventRegistration.event_id)
        .where(EventRegistration.member_id == member_id)
        .order_by(Event.starts_at)
    )
    return [(r, e) for r, e in rows.all()]


async def list_live_for_event(
    session: AsyncSession, event_id: uuid.UUID
) -> Sequence[EventRegistration]:
    return (
        await session.scalars(
            select(EventRegistration)
            .where(
                EventRegistration.event_id == event_id,
                EventRegistration.status.in_([*LIVE_STATUSES, *SEAT_STATUSES]),
            )
            .order_by(EventRegistration.created_at, EventRegistration.id)
            .execution_options(populate_existing=True)
        )
    ).all()


def eligible_card_clause(event: type[Event], now: datetime) -> object:
    """EXISTS a card that lets the member into this event right now."""
    return exists().where(
        Membership.member_id == EventRegistration.member_id,
        Membership.status == MembershipStatus.active,
        Membership.starts_at <= now,
        Membership.ends_at > now,
        (Membership.kind == PlanKind.paid) | (event.eligibility == EventEligibility.card_or_trial),
    )


async def live_future_without_card(
    session: AsyncSession, now: datetime, member_id: uuid.UUID | None = None, limit: int = 500
) -> Sequence[EventRegistration]:
    """Registrations for events still to come whose member no longer holds a card that
    admits them (suspended, expired, refunded, sunset)."""
    stmt = (
        select(EventRegistration)
        .join(Event, Event.id == EventRegistration.event_id)
        .where(
            EventRegistration.status.in_(list(LIVE_STATUSES)),
            Event.status == EventStatus.scheduled,
            Event.starts_at > now,
            ~eligible_card_clause(Event, now),  # type: ignore[operator]
        )
        .order_by(EventRegistration.event_id, EventRegistration.id)
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    if member_id is not None:
        stmt = stmt.where(EventRegistration.member_id == member_id)
    return (await session.scalars(stmt)).all()


async def due_for_reminder(
    session: AsyncSession, now: datetime, until: datetime, limit: int
) -> Sequence[tuple[EventRegistration, Event]]:
    rows = await session.execute(
        select(EventRegistration, Event)
        .join(Event, Event.id == EventRegistration.event_id)
        .where(
            Event.status == EventStatus.scheduled,
            Event.starts_at > now,
            Event.starts_at <= until,
            EventRegistration.status == RegistrationStatus.registered,
            EventRegistration.reminded_at.is_(None),
        )
        .order_by(EventRegistration.id)
        .limit(limit)
    )
    return [(r, e) for r, e in rows.all()]


async def lapsed_holds(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[EventRegistration]:
    return (
        await session.scalars(
            select(EventRegistration)
            .where(
                EventRegistration.status == RegistrationStatus.awaiting_payment,
                EventRegistration.hold_expires_at <= now,
            )
            .order_by(EventRegistration.hold_expires_at, EventRegistration.id)
            .limit(limit)
            .execution_options(populate_existing=True)
        )
    ).all()


async def ended_without_no_shows(
    session: AsyncSession, now: datetime, limit: int
) -> Sequence[uuid.UUID]:
    return (
        await session.scalars(
            select(Event.id)
            .where(
                Event.status == EventStatus.scheduled,
                Event.ends_at <= now,
                Event.no_shows_recorded_at.is_(None),
            )
            .order_by(Event.ends_at)
            .limit(limit)
        )
    ).all()
