"""What the event pages and lists show: seats left, where an event takes place, per-event
figures for operators and merchants (and their CSV), who registered."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.events import repository as repo
from redcard.events import service
from redcard.events.schemas import EventStats, Registration, Seats
from redcard.kit.time import local_iso
from redcard.models import Event, EventRegistration, RegistrationStatus, Store, User
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


def stats_csv(rows: Sequence[EventStats]) -> str:
    """Per-event figures as CSV text, one row per event (start times in the programme's zone,
    with their offset)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EventStats.model_fields))
    writer.writeheader()
    for row in rows:
        writer.writerow(row.model_dump(mode="json") | {"starts_at": local_iso(row.starts_at)})
    return buf.getvalue()


def _place(event: Event, store: Store | None) -> str:
    """Where a member goes: the store's name and its address with its district ("小杨生煎
    （南京西路店） · 静安区南京西路 1 号"), else the venue the organiser gave."""
    if store is not None:
        address = store.address or ""
        if store.district and store.district not in address:
            address = store.district + address
        return " · ".join(p for p in (store.name, address) if p)
    return event.venue or ""


async def places(session: AsyncSession, events: Sequence[Event]) -> dict[uuid.UUID, str]:
    """Where each event takes place: its store's name and address, else its venue (one query
    for all the stores)."""
    stores = await repo.stores_by_id(
        session, [e.store_id for e in events if e.store_id is not None]
    )
    return {
        e.id: _place(e, stores.get(e.store_id) if e.store_id is not None else None) for e in events
    }


@dataclass(frozen=True)
class Managed:
    """One event as its manager sees it: the event, its figures, who holds or awaits a seat."""

    event: Event
    stats: EventStats
    registrations: Sequence[EventRegistration]
    names: dict[uuid.UUID, str]  # member id -> masked name


async def managed(session: AsyncSession, user: User, event_id: uuid.UUID) -> Managed:
    event = await service.managed_event(session, user, event_id)
    (row,) = await for_events(session, [event])
    regs = await repo.list_live_for_event(session, event.id)
    names = await repo.masked_names(session, [r.member_id for r in regs])
    return Managed(event, row, regs, names)
