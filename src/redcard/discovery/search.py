"""The nearby search: stores around a point, filtered, ranked, a page at a time.

1. Validate (422 with a sentence for anything a person could type wrong).
2. Cover the circle with H3 cells (kit/geo.py): res 7 for everyday radii, res 5 when that
   would take too many cells, and a plain lat/lng box where even that is absurd or H3 cannot
   answer. Only cells that can touch the circle are asked for.
3. The visible stores of those cells from the process's snapshot (snapshot.py: exact, kept
   per H3 cell while the database's discovery generation is unchanged; a fill is one Core
   SELECT, `cell IN (...)` on the B-tree index). The box alone: one SELECT by lat/lng.
4. In numpy (ranking.py, the same function a brute-force scan calls): exact haversine
   distance, drop what lies beyond the radius, "open now" and the name search, the blend,
   the diversity rule, the page. The page's hits come from the same rows: no second query.

docs/discovery.md describes the method; docs/architecture.md why H3 cells.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import h3 as h3lib
import h3.api.basic_int as h3i
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from redcard.config import Settings
from redcard.discovery import cursor as cursors
from redcard.discovery import hours, snapshot
from redcard.discovery.ranking import (
    HISTORY_DAYS,
    Block,
    Criteria,
    Ranked,
    as_uuid,
    rank,
    rank_block,
)
from redcard.discovery.snapshot import fetch_plain
from redcard.errors import InvalidInput
from redcard.kit.geo import COARSE, EARTH_RADIUS_M, FINE, haversine_m
from redcard.kit.time import utc_now
from redcard.models import (
    Merchant,
    MerchantStatus,
    Redemption,
    RedemptionStatus,
    Store,
    StoreStatus,
)

# The app's store categories: the one list (labels "category.<key>" in the catalogs). The
# demo files OSM rows under these (merchants/demo.py); a filter outside it is a 422.
CATEGORIES: tuple[str, ...] = (
    "food",
    "cafe",
    "bakery",
    "bar",
    "beauty",
    "fitness",
    "leisure",
    "retail",
    "services",
    "other",
)
MAX_LIMIT = 50
MAX_TEXT = 50
MAX_CELLS = 400  # a covering needing more cells than this goes to the next coarser level


@dataclass(frozen=True, slots=True)
class Filters:
    category: str | None = None  # one of CATEGORIES, else InvalidInput (422)
    open_now: bool = False
    curated_only: bool = False
    text: str | None = None  # part of the name, or its pinyin initials ("xbk" finds 星巴克)


@dataclass(frozen=True, slots=True)
class NearbyQuery:
    lat: float
    lng: float
    radius_m: int | None = None  # None: settings.discovery_radius_m
    filters: Filters = field(default_factory=Filters)
    cursor: str | None = None  # opaque; malformed or from another query -> 422
    limit: int = 20  # 1..50


@dataclass(frozen=True, slots=True)
class Hit:
    store_id: uuid.UUID
    merchant_id: uuid.UUID
    name: str
    category: str
    district: str | None
    address: str | None
    lat: float
    lng: float
    distance_m: int
    discount_bp: int
    discount_cap_fen: int | None
    min_bill_fen: int
    curated: bool
    score: float | None
    rating_avg: float | None
    review_count: int
    inspected_on: date | None
    open_now: bool | None
    photos_version: str | None


@dataclass(frozen=True, slots=True)
class NearbyPage:
    hits: list[Hit]
    next_cursor: str | None
    total: int  # matches within the radius after filters


# -- validation ---------------------------------------------------------------------------------
def criteria(query: NearbyQuery, settings: Settings | None = None) -> Criteria:
    """The query checked, with its defaults filled in: the ranking's input."""
    lat, lng = query.lat, query.lng
    if not (isinstance(lat, int | float) and math.isfinite(lat) and -90 <= lat <= 90):
        raise InvalidInput("latitude must be a number between -90 and 90")
    if not (isinstance(lng, int | float) and math.isfinite(lng) and -180 <= lng <= 180):
        raise InvalidInput("longitude must be a number between -180 and 180")
    default_r, max_r = _radius_settings(settings)
    radius = default_r if query.radius_m is None else query.radius_m
    if isinstance(radius, bool) or not isinstance(radius, int) or radius <= 0:
        raise InvalidInput("the radius must be a whole number of metres above 0")
    if radius > max_r:
        raise InvalidInput(f"the radius may be at most {max_r} metres")
    if isinstance(query.limit, bool) or not isinstance(query.limit, int):
        raise InvalidInput(f"the page size must be a whole number from 1 to {MAX_LIMIT}")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidInput(f"the page size must be from 1 to {MAX_LIMIT}")
    f = query.filters
    if f.category is not None and f.category not in CATEGORIES:
        raise InvalidInput(
            f"unknown category {f.category[:40]!r}; use one of: {', '.join(CATEGORIES)}"
        )
    text = " ".join((f.text or "").split()) or None
    if text is not None and len(text) > MAX_TEXT:
        raise InvalidInput(f"the search text may be at most {MAX_TEXT} characters")
    return Criteria(float(lat), float(lng), radius, f.category, f.open_now, f.curated_only, text)


def _radius_settings(settings: Settings | None) -> tuple[int, int]:
    if settings is not None:
        return settings.discovery_radius_m, settings.discovery_max_radius_m
    fields = Settings.model_fields
    return int(fields["discovery_radius_m"].default), int(fields["discovery_max_radius_m"].default)


def query_hash(c: Criteria, limit: int) -> str:
    return cursors.query_hash((*c, limit))


# -- the covering -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Covering:
    resolution: int | None  # FINE, COARSE, or None: the box alone (`bounding_box`)
    cells: tuple[int, ...]


@lru_cache(maxsize=65_536)
def _cell_geometry(cell: int) -> tuple[float, float, float]:
    """A cell's centre and the distance from it to its farthest corner (plus 1% and 10 m, for
    the edges' curvature), so a cell is certainly outside a circle its disk does not reach."""
    lat, lng = h3i.cell_to_latlng(cell)
    corners = h3i.cell_to_boundary(cell)
    reach = max(haversine_m(lat, lng, a, b) for a, b in corners)
    return lat, lng, reach * 1.01 + 10.0


def _reaches(cell: int, lat: float, lng: float, radius: float) -> bool:
    clat, clng, reach = _cell_geometry(cell)
    return haversine_m(lat, lng, clat, clng) - reach <= radius


def cover(lat: float, lng: float, radius: float, resolution: int) -> tuple[int, ...] | None:
    """The cells at `resolution` that can hold a point within `radius` of (lat, lng), or None
    when that takes more than MAX_CELLS rings' worth (or H3 cannot answer). Rings grow until
    a whole ring lies outside the circle: the circle is then inside the rings within it."""
    try:
        origin = h3i.latlng_to_cell(lat, lng, resolution)
        spacing = math.sqrt(3) * h3lib.average_hexagon_edge_length(resolution, "m")
        k = max(1, math.ceil(radius / spacing) + 1)
        while 3 * k * (k + 1) + 1 <= MAX_CELLS:
            disk = h3i.grid_disk(origin, k)
            inner = set(h3i.grid_disk(origin, k - 1))
            ring = [c for c in disk if c not in inner]
            if not any(_reaches(c, lat, lng, radius) for c in ring):
                return tuple(sorted(c for c in inner if _reaches(c, lat, lng, radius)))
            k += 1
    except h3lib.H3BaseException:
        return None
    return None


def bounding_box(lat: float, lng: float, radius: float) -> ColumnElement[bool]:
    """A lat/lng box holding the circle: split at the antimeridian, every longitude when the
    circle reaches a pole."""
    angle = radius / EARTH_RADIUS_M  # radians of arc
    dlat = math.degrees(angle) * 1.001 + 1e-6
    south, north = lat - dlat, lat + dlat
    lat_cond = and_(Store.lat >= max(-90.0, south), Store.lat <= min(90.0, north))
    if south <= -90 or north >= 90:
        return lat_cond
    ratio = math.sin(angle) / math.cos(math.radians(lat))
    if ratio >= 1:
        return lat_cond
    dlng = math.degrees(math.asin(ratio)) * 1.001 + 1e-6
    west, east = lng - dlng, lng + dlng
    if west < -180:
        lng_cond = or_(Store.lng >= west + 360, Store.lng <= east)
    elif east > 180:
        lng_cond = or_(Store.lng >= west, Store.lng <= east - 360)
    else:
        lng_cond = and_(Store.lng >= west, Store.lng <= east)
    return and_(lat_cond, lng_cond)


def covering(lat: float, lng: float, radius: float) -> Covering:
    for resolution in (FINE, COARSE):
        cells = cover(lat, lng, radius, resolution)
        if cells is not None:
            return Covering(resolution, cells)
    return Covering(None, ())


# -- the queries --------------------------------------------------------------------------------
def visible() -> ColumnElement[bool]:
    """The only stores discovery may ever show: live, of an approved merchant (with a join
    to merchants)."""
    return and_(Store.status == StoreStatus.live, Merchant.status == MerchantStatus.approved)


def live_of_approved() -> ColumnElement[bool]:
    """`visible()` without the join, for the nearby query: its store is not among the stores
    of the few merchants who are not approved (one small lookup per query on the merchants'
    status index, instead of joining every candidate to its merchant)."""
    others = [s for s in MerchantStatus if s != MerchantStatus.approved]
    return and_(
        Store.status == StoreStatus.live,
        Store.merchant_id.not_in(select(Merchant.id).where(Merchant.status.in_(others))),
    )


def raw(column: Any) -> Any:
    """The column as the driver returns it, without SQLAlchemy's conversion to UUID / date:
    on SQLite that parsing was most of the cost of a candidate row. ranking.py reads both."""
    return type_coerce(column, NullType()).label(column.key)


@lru_cache(maxsize=1)
def _snapshot_rows() -> Select[Any]:
    """The visible stores' snapshot columns: one statement, built once (building it cost a
    warm query a quarter of its time)."""
    return select(*snapshot_columns()).where(live_of_approved())


def snapshot_columns() -> list[Any]:
    """A store as discovery keeps it (ranking.COLUMNS): what the ranking reads, then what a
    result shows."""
    return [
        raw(Store.id),
        raw(Store.merchant_id),
        Store.category,
        Store.lat,
        Store.lng,
        Store.score,
        raw(Store.inspected_on),
        raw(Store.last_review_at),
        Store.curated,
        Store.opening_hours,
        Store.timezone,
        Store.name,
        Store.district,
        Store.address,
        Store.discount_bp,
        Store.discount_cap_fen,
        Store.min_bill_fen,
        Store.rating_avg,
        Store.review_count,
        Store.photos_version,
    ]


async def candidates(session: AsyncSession, c: Criteria) -> Block:
    """The visible stores that may lie within the circle (and more: the ranking filters)."""
    where = covering(c.lat, c.lng, c.radius_m)
    rows_of = _snapshot_rows()
    if where.resolution is not None:
        return await snapshot.blocks_for(session, where.resolution, where.cells, rows_of)
    box = bounding_box(c.lat, c.lng, c.radius_m)
    return Block.of(await fetch_plain(session, rows_of.where(box)))


async def member_history(
    session: AsyncSession, member_id: uuid.UUID | None, now: datetime
) -> dict[str, float]:
    """Each category's share of the member's committed redemptions over HISTORY_DAYS."""
    if member_id is None:
        return {}
    since = now - timedelta(days=HISTORY_DAYS)
    rows = (
        await session.execute(
            select(Store.category, func.count())
            .select_from(Redemption)
            .join(Store, Store.id == Redemption.store_id)
            .where(
                Redemption.member_id == member_id,
                Redemption.status == RedemptionStatus.committed,
                Redemption.committed_at >= since,
            )
            .group_by(Store.category)
        )
    ).all()
    total = sum(n for _, n in rows)
    return {category: n / total for category, n in rows} if total else {}


def _as_date(value: date | str | None) -> date | None:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def hit(item: Ranked, now: datetime) -> Hit:
    r = item.store
    return Hit(
        store_id=as_uuid(r[0]),
        merchant_id=as_uuid(r[1]),
        name=r[11],
        category=r[2],
        district=r[12],
        address=r[13],
        lat=r[3],
        lng=r[4],
        distance_m=round(item.distance_m),
        discount_bp=r[14],
        discount_cap_fen=r[15],
        min_bill_fen=r[16],
        curated=bool(r[8]),
        score=r[5],
        rating_avg=r[17],
        review_count=r[18],
        inspected_on=_as_date(r[6]),
        open_now=hours.is_open(r[9], r[10], now),
        photos_version=r[19],
    )


async def nearby(
    session: AsyncSession,
    query: NearbyQuery,
    *,
    member_id: uuid.UUID | None = None,
    settings: Settings | None = None,
) -> NearbyPage:
    """A page of the stores near the query's point, best first (docs/discovery.md)."""
    c = criteria(query, settings)
    qhash = query_hash(c, query.limit)
    offset = 0 if query.cursor is None else cursors.decode(query.cursor, qhash)
    now = utc_now()
    history = await member_history(session, member_id, now)
    ranked = rank_block(await candidates(session, c), c, history, now)
    found = ranked.page_at(query.limit, offset)
    if found is None:
        raise cursors.BadCursor(
            "the cursor is not one this list gave out; start from the first page"
        )
    page, after = found
    more = after < len(ranked)
    return NearbyPage(
        hits=[hit(item, now) for item in page],
        next_cursor=cursors.encode(after, qhash) if more else None,
        total=len(ranked),
    )


async def brute_force(
    session: AsyncSession,
    query: NearbyQuery,
    *,
    member_id: uuid.UUID | None = None,
    settings: Settings | None = None,
) -> list[Ranked]:
    """Every visible store ranked by the same function, no index, no SQL filters: what the
    tests and the benchmark hold `nearby` to."""
    c = criteria(query, settings)
    now = utc_now()
    history = await member_history(session, member_id, now)
    rows = await fetch_plain(
        session,
        select(*snapshot_columns(), Store.status, Merchant.status).join(
            Merchant, Merchant.id == Store.merchant_id
        ),
    )
    live = [r[:-2] for r in rows if r[-2] == StoreStatus.live and r[-1] == MerchantStatus.approved]
    return rank(live, c, history, now)
