"""A store's own page for its owner: opening hours per weekday (up to three ranges a day, so a
lunch break is two; an end at or before the start is overnight), or as OpenStreetMap text for
what the week cannot say; the time zone they are read in; a description; photos. The store's
staff see the same page without the save buttons. And every store photo, served to anyone at
/stores/{id}/photos/{position}."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from redcard.deps import Session
from redcard.discovery import hours
from redcard.errors import AppError, NotFound
from redcard.http import idempotency
from redcard.http.images import picture_response, too_large, upload_in
from redcard.kit import images
from redcard.kit import time as clock
from redcard.kit.ids import new_token
from redcard.merchants import photos, stores
from redcard.merchants.schemas import Store as StoreOut
from redcard.merchants.schemas import StoreEdit
from redcard.merchants.schemas import StorePhoto as StorePhotoOut
from redcard.models import Role, User
from redcard.web.common import error_text, require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(include_in_schema=False)
StaffPage = Annotated[User, require(Role.merchant_staff)]
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # msgids


@dataclass(frozen=True, slots=True)
class Slot:
    opens: str
    closes: str

    @property
    def overnight(self) -> bool:
        """Ends the next day (as the page says beside it): an end at or before the start,
        other than midnight."""
        try:
            start, end = hours.minutes(self.opens), hours.minutes(self.closes, end=True)
        except hours.BadHours:
            return False
        return 0 < end <= start


def _field(day: int, slot: int, end: str) -> str:
    return f"d{day}_{slot}_{end}"


def _slots_from_week(week: hours.Week) -> list[list[Slot]]:
    # a time input cannot show 24:00: midnight is 00:00 there (an end of 00:00 is midnight)
    return [
        [Slot(s, "00:00" if e == "24:00" else e) for s, e in week.get(day, [])] for day in range(7)
    ]


def _slots_from_form(form: dict[str, Any]) -> list[list[Slot]]:
    """What was typed, as typed (blank pairs left out), to save or to show again."""
    days: list[list[Slot]] = []
    for day in range(7):
        slots = []
        for n in range(hours.MAX_RANGES):
            opens = str(form.get(_field(day, n, "open"), "")).strip()
            closes = str(form.get(_field(day, n, "close"), "")).strip()
            if opens or closes:
                slots.append(Slot(opens, closes))
        days.append(slots)
    return days


def _week(days: list[list[Slot]]) -> hours.Week:
    for slots in days:
        if any(not s.opens or not s.closes for s in slots):
            raise hours.BadHours(hours.BAD_TIME)  # a range needs both ends
    return {day: [(s.opens, s.closes) for s in slots] for day, slots in enumerate(days) if slots}


async def _page(
    request: Request,
    session: Session,
    user: User,
    store_id: uuid.UUID,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
    days: list[list[Slot]] | None = None,
    **extra: Any,
) -> Response:
    seen = await stores.seen_store(session, user, store_id)
    store = seen.store
    if days is None:
        try:
            days = _slots_from_week(hours.to_week(store.opening_hours))
        except hours.BadHours:  # stored before hours were checked: shown as text to fix
            days = [[] for _ in range(7)]
    return render(
        request,
        "merchant/store_edit.html",
        status_code=status_code,
        store=store,
        may_edit=seen.may_edit,
        days=days,
        day_names=DAY_NAMES,
        max_ranges=hours.MAX_RANGES,
        fits=hours.fits_week(store.opening_hours),
        summary=hours.summary(store.opening_hours),
        open_now=hours.is_open(store.opening_hours, store.timezone),
        zones=stores.zone_names(),
        programme_zone=clock.zone().key,
        photos=await photos.photos_of(session, store.id),
        photo_url=photos.url_of,
        max_photos=photos.MAX_PHOTOS,
        idempotency_key=new_token(16),  # a double tap uploads or moves a photo once
        form=form or {},
        **extra,
    )


@router.get("/merchant/stores/{store_id}/edit", response_class=HTMLResponse)
async def edit_page(
    store_id: uuid.UUID, request: Request, session: Session, user: StaffPage
) -> Response:
    return await _page(request, session, user, store_id, saved=request.query_params.get("saved"))


@router.post("/merchant/stores/{store_id}/edit")
async def edit_submit(
    store_id: uuid.UUID, request: Request, session: Session, owner: StaffPage
) -> Response:
    """Save the hours (the week, or with mode=text the OSM text), zone and description at
    once; with copy=monday, show the form again with Monday's hours on Tuesday to Friday."""
    form = await check_csrf(request)
    days = _slots_from_form(form)
    if form.get("copy") == "monday":
        days = [days[0], *([list(days[0])] * 4), days[5], days[6]]
        return await _page(request, session, owner, store_id, form=form, days=days)
    try:
        text = form.get("mode") == "text"
        edit = StoreEdit.model_validate(
            {
                # a line break typed in the text box is a space
                **({"opening_hours": " ".join(str(form.get("osm", "")).split())} if text else {}),
                **({} if text else {"week": _week(days)}),
                "timezone": str(form.get("timezone", "")),
                "description": str(form.get("description", "")),
            }
        )
        async with session.begin_nested():
            await stores.update_store(session, owner, store_id, edit)
    except (AppError, ValidationError) as exc:
        if isinstance(exc, NotFound):
            raise
        code = exc.status_code if isinstance(exc, AppError) else 422
        return await _page(
            request, session, owner, store_id, code, form, days, error=error_text(exc)
        )
    return redirect(f"/merchant/stores/{store_id}/edit?saved=1")


@router.post("/merchant/stores/{store_id}/photos")
async def photo_submit(
    store_id: uuid.UUID, request: Request, session: Session, owner: StaffPage
) -> Response:
    if too_large(request):
        return await _page(request, session, owner, store_id, 413, error=images.TOO_LARGE)
    form = await check_csrf(request)
    try:
        picture = await upload_in(form, "photo")
        if picture is None:
            raise images.ImageRefused("choose a picture to upload")

        async def add() -> StorePhotoOut:
            return StorePhotoOut.model_validate(
                await photos.add_photo(session, owner, store_id, picture)
            )

        # the picture is the request: the same form sent twice with it uploads it once
        digest = idempotency.fingerprint("POST", request.url.path, picture.digest.encode())
        await submit_once(session, owner, form, digest, add)
    except AppError as exc:
        if isinstance(exc, NotFound):
            raise
        return await _page(request, session, owner, store_id, exc.status_code, error=exc.message)
    return redirect(f"/merchant/stores/{store_id}/edit?saved=photo#photos")


@router.post("/merchant/stores/{store_id}/photos/{position}/delete")
async def photo_delete(
    store_id: uuid.UUID,
    position: photos.Position,
    request: Request,
    session: Session,
    owner: StaffPage,
) -> Response:
    await check_csrf(request)
    try:
        async with session.begin_nested():
            await photos.remove_photo(session, owner, store_id, position)
    except photos.PhotoNotFound:
        pass  # gone already (a second tap): the page shows the photos that are left
    return redirect(f"/merchant/stores/{store_id}/edit?saved=photo#photos")


@router.post("/merchant/stores/{store_id}/photos/{position}/earlier")
async def photo_earlier(
    store_id: uuid.UUID,
    position: photos.Position,
    request: Request,
    session: Session,
    owner: StaffPage,
) -> Response:
    form = await check_csrf(request)

    async def move() -> StoreOut:
        return StoreOut.model_validate(
            await photos.move_earlier(session, owner, store_id, position)
        )

    with contextlib.suppress(photos.PhotoNotFound):  # deleted meanwhile: the rest are shown
        digest = idempotency.fingerprint("POST", request.url.path, b"")
        await submit_once(session, owner, form, digest, move)
    return redirect(f"/merchant/stores/{store_id}/edit?saved=photo#photos")


@router.get("/stores/{store_id}/photos/{position}")
async def store_photo(
    store_id: uuid.UUID, position: photos.Position, request: Request, session: Session
) -> Response:
    """A store's photo, cached like an event's picture (`http/images.py`)."""
    photo = await photos.get_photo(session, store_id, position)
    if photo is None:
        raise NotFound("this store has no photo there")
    return picture_response(request, photo.data, photo.content_type, photo.digest)
