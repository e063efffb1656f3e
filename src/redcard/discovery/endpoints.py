"""Discovery's API: stores near a point, and one store's public detail. Public: anyone may
look; a signed-in member's own history lifts the categories they use."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from redcard.deps import Ctx, CurrentUser, Public, Session
from redcard.discovery import detail as details
from redcard.discovery.reads import read_scope
from redcard.discovery.schemas import (
    DayHoursOut,
    NearbyItem,
    NearbyOut,
    OpenRange,
    StoreDetailOut,
    UpcomingEventOut,
)
from redcard.discovery.search import CATEGORIES, MAX_LIMIT, MAX_TEXT, Filters, NearbyQuery
from redcard.discovery.search import nearby as search_nearby
from redcard.models import Role

router = APIRouter(tags=["discovery"])
HARD_MAX_RADIUS = 50_000  # the setting's own ceiling; the configured maximum is enforced too


@router.get("/stores/nearby", response_model=NearbyOut, dependencies=[Public])
async def nearby(
    session: Session,
    ctx: Ctx,
    user: CurrentUser,
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
    lng: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
    radius: Annotated[
        int | None,
        Query(gt=0, le=HARD_MAX_RADIUS, description="metres; default: the configured radius"),
    ] = None,
    category: Annotated[str | None, Query(description=", ".join(CATEGORIES))] = None,
    open_now: bool = False,
    curated_only: bool = False,
    q: Annotated[
        str | None, Query(max_length=MAX_TEXT, description="part of the name or pinyin initials")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> Response:
    """Live stores near (lat, lng), best first (docs/discovery.md), a page at a time."""
    query = NearbyQuery(
        lat=lat,
        lng=lng,
        radius_m=radius,
        filters=Filters(
            category=category or None,
            open_now=open_now,
            curated_only=curated_only,
            text=q or None,
        ),
        cursor=cursor or None,
        limit=limit,
    )
    member_id = user.id if user is not None and user.role == Role.member else None
    async with read_scope(ctx.db, session) as reads:
        page = await search_nearby(reads, query, member_id=member_id, settings=ctx.settings)
    out = NearbyOut(
        items=[NearbyItem(**_fields(hit)) for hit in page.hits],
        next_cursor=page.next_cursor,
        total=page.total,
    )
    # built and checked above: sent as is, not validated a second time
    return Response(out.model_dump_json(), media_type="application/json")


def _fields(obj: object) -> dict[str, object]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


@router.get("/stores/{store_id}", response_model=StoreDetailOut, dependencies=[Public])
async def store(store_id: uuid.UUID, session: Session, ctx: Ctx) -> StoreDetailOut:
    """A live store's public page: terms, hours, curation figures, upcoming events."""
    async with read_scope(ctx.db, session) as reads:
        d = await details.store_detail(reads, store_id)
    fields = _fields(d)
    fields["week"] = [
        DayHoursOut(day=w.day, ranges=[OpenRange(opens=a, closes=b) for a, b in w.ranges])
        for w in d.week
    ]
    fields["events"] = [
        UpcomingEventOut(
            id=e.id,
            title=e.title,
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            seats_left=e.seats_left,
            price_fen=e.price_fen,
        )
        for e in d.events
    ]
    return StoreDetailOut.model_validate(fields)
