"""Event pages for operators and merchant staff: list with figures, create, edit capacity,
give a picture, cancel, check-in at the door, CSV export; and every event's picture, served
to anyone at /events/{id}/image."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from redcard.deps import Session
from redcard.errors import AppError, InvalidInput, NotFound
from redcard.events import checkin, images, service, stats
from redcard.events.schemas import EventCreate, EventUpdate
from redcard.http.images import picture_response, too_large, upload_in
from redcard.http.responses import csv_response
from redcard.kit.money import MoneyError, parse_yuan
from redcard.kit.time import parse_hours
from redcard.models import Role, User
from redcard.web.common import error_text, require
from redcard.web.forms import local_datetime
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(include_in_schema=False)  # what app.py includes: `manage` and the picture
manage = APIRouter(prefix="/manage/events", include_in_schema=False)
StaffPage = Annotated[User, require(Role.operator, Role.merchant_staff)]


async def _list(
    request: Request, session: Session, user: User, status_code: int = 200, **extra: Any
) -> Response:
    return render(
        request,
        "events/manage_list.html",
        status_code=status_code,
        rows=await stats.for_user(session, user),
        stores=await service.stores_to_host(session, user),
        form=extra.pop("form", {}),
        **extra,
    )


@manage.get("", response_class=HTMLResponse)
async def manage_list(request: Request, session: Session, user: StaffPage) -> Response:
    return await _list(request, session, user)


@manage.get(".csv")
async def manage_csv(session: Session, user: StaffPage) -> Response:
    return csv_response("events.csv", stats.stats_csv(await stats.for_user(session, user)))


@manage.post("")
async def create_submit(request: Request, session: Session, user: StaffPage) -> Response:
    if too_large(request):
        return await _list(request, session, user, status_code=413, error=images.TOO_LARGE)
    form = await check_csrf(request)
    try:
        picture = await upload_in(form)
        async with session.begin_nested():
            starts_at = local_datetime(form.get("starts_at"))
            if starts_at is None:
                raise InvalidInput("give the start time")
            duration = parse_hours(str(form.get("duration_hours") or "2"))
            notice = parse_hours(str(form.get("cancel_hours_before") or "24"))
            data = EventCreate(
                title=str(form.get("title", "")),
                description=str(form.get("description", "")),
                venue=str(form.get("venue", "")) or None,
                store_id=uuid.UUID(str(form["store_id"])) if form.get("store_id") else None,
                starts_at=starts_at,
                ends_at=starts_at + duration,
                capacity=int(str(form.get("capacity") or "0")),
                price_fen=parse_yuan(str(form.get("price_yuan") or "0")),
                eligibility=str(form.get("eligibility") or "card"),
                cancel_deadline=starts_at - notice,
            )
            event = await service.create_event(session, user, data)
            if picture is not None:
                await images.set_image(session, user, event.id, picture)
    except (AppError, ValidationError, MoneyError, ValueError) as exc:
        return await _list(
            request, session, user, status_code=422, error=error_text(exc), form=form
        )
    return redirect(f"/manage/events/{event.id}")


async def _detail(
    request: Request,
    session: Session,
    user: User,
    event_id: uuid.UUID,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    managed = await stats.managed(session, user, event_id)
    return render(
        request,
        "events/manage_detail.html",
        status_code=status_code,
        event=managed.event,
        place=(await stats.places(session, [managed.event]))[managed.event.id],
        stats=managed.stats,
        registrations=managed.registrations,
        names=managed.names,
        **extra,
    )


@manage.get("/{event_id}", response_class=HTMLResponse)
async def manage_detail(
    event_id: uuid.UUID, request: Request, session: Session, user: StaffPage
) -> Response:
    return await _detail(request, session, user, event_id)


@manage.post("/{event_id}/capacity")
async def capacity_submit(
    event_id: uuid.UUID, request: Request, session: Session, user: StaffPage
) -> Response:
    form = await check_csrf(request)
    try:
        async with session.begin_nested():
            update = EventUpdate(capacity=int(str(form.get("capacity") or "0")))
            await service.update_event(session, user, event_id, update)
    except (AppError, ValidationError, ValueError) as exc:
        return await _detail(
            request, session, user, event_id, status_code=409, error=error_text(exc)
        )
    return redirect(f"/manage/events/{event_id}?saved=1")


@manage.post("/{event_id}/cancel")
async def cancel_submit(
    event_id: uuid.UUID, request: Request, session: Session, user: StaffPage
) -> Response:
    form = await check_csrf(request)
    try:
        async with session.begin_nested():
            reason = str(form.get("reason", "")).strip()
            if not reason:
                raise InvalidInput("give a reason; it is sent to every registrant")
            await service.cancel_event(session, user, event_id, reason)
    except AppError as exc:
        return await _detail(
            request, session, user, event_id, status_code=exc.status_code, error=exc.message
        )
    return redirect(f"/manage/events/{event_id}")


@manage.post("/{event_id}/checkin")
async def checkin_submit(
    event_id: uuid.UUID, request: Request, session: Session, user: StaffPage
) -> Response:
    """Check-in is naturally idempotent (a second one is refused), so no key is needed."""
    form = await check_csrf(request)
    try:
        async with session.begin_nested():
            _, member = await checkin.check_in(session, user, event_id, str(form.get("code", "")))
    except AppError as exc:
        return await _detail(
            request, session, user, event_id, status_code=exc.status_code, error=exc.message
        )
    return await _detail(request, session, user, event_id, checked_in=member.masked_name)


@manage.post("/{event_id}/image")
async def image_submit(
    event_id: uuid.UUID, request: Request, session: Session, user: StaffPage
) -> Response:
    """Give the event a picture (replacing its old one), or with remove=yes take it away."""
    if too_large(request):
        return await _detail(request, session, user, event_id, 413, error=images.TOO_LARGE)
    form = await check_csrf(request)
    try:
        if form.get("remove") == "yes":
            async with session.begin_nested():
                await images.remove_image(session, user, event_id)
        else:
            picture = await upload_in(form)
            if picture is None:
                raise images.ImageRefused("choose a picture to upload")
            async with session.begin_nested():
                await images.set_image(session, user, event_id, picture)
    except AppError as exc:
        return await _detail(
            request, session, user, event_id, status_code=exc.status_code, error=exc.message
        )
    return redirect(f"/manage/events/{event_id}?saved=1")


router.include_router(manage)


@router.get("/events/{event_id}/image")
async def event_image(event_id: uuid.UUID, request: Request, session: Session) -> Response:
    """An event's picture. Its URL carries its version (?v=, `Event.image_version`): with the
    current one it may be cached for a year, as a new picture gets a new URL; without, for
    five minutes. Either way the ETag lets a browser revalidate for nothing."""
    image = await images.get_image(session, event_id)
    if image is None:
        raise NotFound("this event has no picture")
    return picture_response(request, image.data, image.content_type, image.digest)
