"""The 发现 tab (`/`): the programme's stores near the member, as a list or on a map, and a
store's own page with its terms, hours, events, reviews and the 买单 button.

Where "near" is: the browser's position when the member shares it (asked on a tap, with the
reason; never required), else a chosen district's centre, else the programme's default
district. The same search as `GET /api/v1/stores/nearby` (`discovery/search.py`).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from redcard.curation import reviews
from redcard.deps import Ctx, CurrentUser, Session
from redcard.discovery import districts, hours, search
from redcard.discovery.detail import store_detail
from redcard.discovery.reads import read_scope
from redcard.errors import AppError, InvalidInput
from redcard.kit import time as clock
from redcard.kit.ids import new_token
from redcard.membership import repository as membership_repo
from redcard.merchants import photos
from redcard.models import Role, Store, User
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, locale_of, redirect, render

router = APIRouter(include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]

DEFAULT_DISTRICT = "huangpu"  # the demo city's centre, where the most stores are
RADII_KM = (1, 3, 5, 10, 20)


class Written(BaseModel):
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Where:
    lat: float
    lng: float
    district: districts.District | None  # None: the member's own position


def _where(params: Any) -> Where:
    """The search's centre from the query string: a shared position, else a district."""
    lat, lng = params.get("lat"), params.get("lng")
    if lat and lng:
        try:
            point = float(lat), float(lng)
        except ValueError as exc:
            raise InvalidInput("the position is not a pair of numbers") from exc
        if not all(math.isfinite(v) for v in point):
            raise InvalidInput("the position is not a pair of numbers")
        return Where(point[0], point[1], None)
    chosen = districts.district(params.get("district") or DEFAULT_DISTRICT)
    return Where(chosen.lat, chosen.lng, chosen)


def distance_words(metres: int) -> str:
    """ "350 m" near, "1.2 km" further: what a phone shows beside a place."""
    if metres < 1000:
        return f"{round(metres, -1):.0f} m"
    return f"{metres / 1000:.1f} km"


def _flag(params: Any, name: str) -> bool:
    return params.get(name) in ("1", "on", "true")


def _query(params: Any, where: Where, radius_km: int) -> search.NearbyQuery:
    filters = search.Filters(
        category=params.get("category") or None,
        open_now=_flag(params, "open_now"),
        curated_only=_flag(params, "curated"),
        text=(params.get("q") or "").strip() or None,
    )
    return search.NearbyQuery(
        lat=where.lat,
        lng=where.lng,
        radius_m=radius_km * 1000,
        filters=filters,
        cursor=params.get("cursor") or None,
    )


def _radius_km(params: Any, default_m: int) -> int:
    text = params.get("radius") or ""
    if text.isdigit() and int(text) in RADII_KM:
        return int(text)
    return max(1, round(default_m / 1000))


@router.get("/", response_class=HTMLResponse)
async def discover(request: Request, session: Session, ctx: Ctx, user: CurrentUser) -> Response:
    params = request.query_params
    radius_km = _radius_km(params, ctx.settings.discovery_radius_m)
    error, status_code, page = None, 200, None
    try:
        where = _where(params)
        query = _query(params, where, radius_km)
        member_id = user.id if user is not None and user.role == Role.member else None
        async with read_scope(ctx.db, session) as reads:  # as the API reads (discovery/reads.py)
            page = await search.nearby(reads, query, member_id=member_id, settings=ctx.settings)
    except AppError as exc:
        where = _where({})  # the default district: the page still works
        error, status_code = exc.message, exc.status_code
    card = None
    if user is not None and user.role == Role.member:
        card = await membership_repo.get_active_by_member(session, user.id)
    kept = {k: v for k, v in params.items() if k != "cursor"}
    more = None
    if page is not None and page.next_cursor:
        more = "/?" + urlencode({**kept, "cursor": page.next_cursor})
    return render(
        request,
        "discover/list.html",
        status_code=status_code,
        error=error,
        page=page,
        where=where,
        districts=districts.DISTRICTS,
        categories=search.CATEGORIES,
        radii=RADII_KM,
        radius_km=radius_km,
        default_radius_km=_radius_km({}, ctx.settings.discovery_radius_m),
        params=params,
        view="map" if params.get("view") == "map" else "list",
        list_url="/?" + urlencode({k: v for k, v in kept.items() if k != "view"}),
        map_url="/?" + urlencode({**{k: v for k, v in kept.items() if k != "view"}, "view": "map"}),
        more=more,
        card=card,
        distance=distance_words,
        tile_url=ctx.settings.map_tile_url,
        tile_attribution=ctx.settings.map_tile_attribution,
    )


async def _store_page(
    request: Request,
    session: Session,
    user: User | None,
    store_id: uuid.UUID,
    *,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    detail = await store_detail(session, store_id)
    store = await session.get_one(Store, store_id)
    mine = []
    if user is not None and user.role == Role.member:
        mine = await reviews.reviewable_purchases(session, user.id, store_id)
    shown = await reviews.visible_reviews(session, store_id, limit=20)
    pictures = [photos.url_of(p) for p in await photos.photos_of(session, store_id)]
    today = clock.utc_now().astimezone(hours.store_zone(detail.timezone)).date()
    return render(
        request,
        "discover/store.html",
        status_code=status_code,
        error=error,
        detail=detail,
        pay_code=store.pay_code,
        reviews=shown,
        photos=pictures,
        today=today,
        weekday=lambda day: format_date(day, "EEE", locale=locale_of(request)),
        reviewable=mine,
        form=form or {},
        idempotency_key=new_token(16),
        thanks=request.query_params.get("reviewed") == "1",
    )


@router.get("/stores/{store_id}", response_class=HTMLResponse)
async def store_page(
    store_id: uuid.UUID, request: Request, session: Session, user: CurrentUser
) -> Response:
    return await _store_page(request, session, user, store_id)


@router.post("/stores/{store_id}/reviews")
async def review_submit(
    store_id: uuid.UUID, request: Request, session: Session, member: MemberPage
) -> Response:
    form = await check_csrf(request)
    try:
        try:
            redemption_id = uuid.UUID(str(form.get("redemption_id", "")))
            stars = int(str(form.get("stars", "")))
        except ValueError as exc:
            raise InvalidInput("choose the purchase and 1 to 5 stars") from exc
        body = str(form.get("body", ""))

        async def action() -> Written:
            review = await reviews.write_review(
                session, member, redemption_id, stars, body, store_id=store_id
            )
            return Written(id=review.id)

        await submit_once(session, member, form, f"review:{redemption_id}", action)
    except AppError as exc:
        return await _store_page(
            request,
            session,
            member,
            store_id,
            error=exc.message,
            status_code=exc.status_code,
            form=form,
        )
    return redirect(f"/stores/{store_id}?reviewed=1#reviews")
