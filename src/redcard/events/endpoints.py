"""Members-only events: the API. Thin: auth, one service call, the response model."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from redcard import models
from redcard.deps import Ctx, Member, Public, Session, allow
from redcard.events import checkin, service, stats
from redcard.events import repository as repo
from redcard.events.schemas import (
    CheckedIn,
    CheckIn,
    Event,
    EventCancel,
    EventCreate,
    EventStats,
    EventUpdate,
    Registration,
    Seats,
)
from redcard.http.idempotency import run_idempotent
from redcard.http.responses import csv_response
from redcard.kit.time import utc_now
from redcard.models import Role, User

router = APIRouter(tags=["events"])
Manager = Annotated[User, Depends(allow(Role.operator, Role.merchant_staff))]


def event_out(event: models.Event) -> Event:
    fields = {name: getattr(event, name) for name in Event.model_fields if name != "seats_left"}
    return Event.model_validate(fields | {"seats_left": event.seats_left()})


@router.get("/events", response_model=list[Event], dependencies=[Public])
async def list_events(session: Session) -> list[Event]:
    """Upcoming events, soonest first, with seats left."""
    return [event_out(e) for e in await repo.list_upcoming(session, utc_now())]


@router.get("/events/seats", response_model=list[Seats], dependencies=[Public])
async def seats(
    session: Session, ids: Annotated[list[uuid.UUID], Query(max_length=100)]
) -> list[Seats]:
    """Seats left and waitlist length, polled by the events page."""
    return await stats.seats(session, ids)


@router.get("/events/{event_id}", response_model=Event, dependencies=[Public])
async def get_event(event_id: uuid.UUID, session: Session) -> Event:
    return event_out(await service.get_event(session, event_id))


@router.get("/events/{event_id}/registration", response_model=Registration)
async def my_registration(event_id: uuid.UUID, session: Session, member: Member) -> Registration:
    return await stats.registration_out(
        session, await service.get_registration(session, member, event_id)
    )


@router.post("/events/{event_id}/registration", status_code=201, response_model=Registration)
async def register(
    event_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, member: Member
) -> JSONResponse:
    """Take a seat or join the waitlist. A paid seat comes back `awaiting_payment`, held for the
    event's `hold_minutes`: get its pay link from `POST .../registration/pay`."""

    async def action() -> Registration:
        reg = await service.register(
            session, ctx.channels, member, event_id, base_url=ctx.settings.base_url
        )
        return await stats.registration_out(session, reg)

    return await run_idempotent(session, request, f"user:{member.id}", action, 201)


@router.post("/events/{event_id}/registration/pay", response_model=Registration)
async def pay(
    event_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, member: Member
) -> JSONResponse:
    """The pay link for a held seat (just registered, or promoted from the waitlist)."""

    async def action() -> Registration:
        url = await service.pay_for_seat(
            session, ctx.channels, member, event_id, base_url=ctx.settings.base_url
        )
        reg = await service.get_registration(session, member, event_id)
        return await stats.registration_out(session, reg, url)

    return await run_idempotent(session, request, f"user:{member.id}", action)


@router.post("/events/{event_id}/registration/cancel", response_model=Registration)
async def cancel_registration(
    event_id: uuid.UUID, request: Request, session: Session, member: Member
) -> JSONResponse:
    async def action() -> Registration:
        reg = await service.cancel_registration(session, member, event_id)
        return await stats.registration_out(session, reg)

    return await run_idempotent(session, request, f"user:{member.id}", action)


@router.get("/me/event-registrations", response_model=list[Registration])
async def my_registrations(session: Session, member: Member) -> list[Registration]:
    return [
        await stats.registration_out(session, reg)
        for reg, _ in await repo.list_by_member(session, member.id)
    ]


# -- operators and merchant staff -------------------------------------------------------------
@router.get("/manage/events", response_model=list[EventStats])
async def managed_events(session: Session, user: Manager) -> list[EventStats]:
    return await stats.for_user(session, user)


@router.get("/manage/events.csv", response_class=Response)
async def managed_events_csv(session: Session, user: Manager) -> Response:
    """Per-event figures as CSV (UTF-8 with BOM so spreadsheet apps read the Chinese)."""
    return csv_response("events.csv", stats.stats_csv(await stats.for_user(session, user)))


@router.post("/manage/events", status_code=201, response_model=Event)
async def create_event(
    body: EventCreate, request: Request, session: Session, user: Manager
) -> JSONResponse:
    async def action() -> Event:
        return event_out(await service.create_event(session, user, body))

    return await run_idempotent(session, request, f"user:{user.id}", action, 201)


@router.patch("/manage/events/{event_id}", response_model=Event)
async def update_event(
    event_id: uuid.UUID, body: EventUpdate, request: Request, session: Session, user: Manager
) -> JSONResponse:
    """Edit; capacity may grow, and shrink only down to the seats taken."""

    async def action() -> Event:
        return event_out(await service.update_event(session, user, event_id, body))

    return await run_idempotent(session, request, f"user:{user.id}", action)


@router.post("/manage/events/{event_id}/cancel", response_model=Event)
async def cancel_event(
    event_id: uuid.UUID, body: EventCancel, request: Request, session: Session, user: Manager
) -> JSONResponse:
    """Cancel: registrants are notified and paid seats refunded, once."""

    async def action() -> Event:
        return event_out(await service.cancel_event(session, user, event_id, body.reason))

    return await run_idempotent(session, request, f"user:{user.id}", action)


@router.get("/manage/events/{event_id}/stats", response_model=EventStats)
async def event_stats(event_id: uuid.UUID, session: Session, user: Manager) -> EventStats:
    event = await service.managed_event(session, user, event_id)
    return (await stats.for_events(session, [event]))[0]


@router.post("/manage/events/{event_id}/checkins", response_model=CheckedIn)
async def check_in(
    event_id: uuid.UUID, body: CheckIn, request: Request, session: Session, user: Manager
) -> JSONResponse:
    """Check a member in by their code. Unknown codes all get the same error."""

    async def action() -> CheckedIn:
        reg, member = await checkin.check_in(session, user, event_id, body.code)
        assert reg.checked_in_at is not None
        return CheckedIn(
            registration_id=reg.id,
            event_id=reg.event_id,
            member=member.masked_name,
            checked_in_at=reg.checked_in_at,
        )

    return await run_idempotent(session, request, f"user:{user.id}", action)
