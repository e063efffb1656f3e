"""Figures: seats left for the live list, and per-event stats for operators and merchants."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.events import repository as repo
from redcard.events import service
from redcard.events.schemas import EventStats, Registration, Seats
from redcard.models import Event, EventRegistration, RegistrationStatus, User
from redcard.models.event_registration import SEAT_STATUSES

S = RegistrationStatus


async def seats(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Seats]:
    events = (await session.scalars(select(Event).where(Event.id.in_(list(ids))))).all()
    waiting = await repo.waitlist_counts(session, [e.id for e in events])
    return [
        Seats(
            id=e.id,
            capacity=e.capacity,
            seats_left=e.seats_left(),
            waitlist=waiting.get(e.id, 0),
            status=e.status,
        )
        for e in events
    ]


async def registration_out(
    session: AsyncSession, registration: EventRegistration, pay_url: str | None = None
) -> Registration:
    out = Registration.model_validate(registration, from_attributes=True)
    out.code = (
        service.format_code(registration.code) if registration.status in SEAT_STATUSES else None
    )
    if registration.status == S.waitlisted:
        out.waitlist_ahead = await repo.waitlist_ahead(session, registration)
    out.pay_url = pay_url
    return out


async def for_events(session: AsyncSession, events: Sequence[Event]) -> list[EventStats]:
    counts = await repo.status_counts(session, [e.id for e in events])
    rows = []
    for event in events:
        c = counts.get(event.id, {})
        confirmed = c.get(S.registered, 0) + c.get(S.checked_in, 0) + c.get(S.no_show, 0)
        taken = confirmed + c.get(S.awaiting_payment, 0)
        rows.append(
            EventStats(
                event_id=event.id,
                title=event.title,
                starts_at=event.starts_at,
                status=event.status,
                capacity=event.capacity,
                registrations=taken,
                waitlist=c.get(S.waitlisted, 0),
                checked_in=c.get(S.checked_in, 0),
                no_shows=c.get(S.no_show, 0),
                cancelled=c.get(S.cancelled, 0),
                fill_rate=round(taken / event.capacity, 4),
                checkin_rate=round(c.get(S.checked_in, 0) / confirmed, 4) if confirmed else None,
            )
        )
    return rows


async def for_user(session: AsyncSession, user: User) -> list[EventStats]:
    stores = await service.managed_store_ids(session, user)
    return await for_events(session, await repo.list_for_staff(session, stores))
