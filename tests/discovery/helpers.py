"""Stores for discovery tests: merchants and stores written straight to the database (the
owners cannot log in, like the demo's OSM stores), near a point in central Shanghai."""

from __future__ import annotations

import math
import secrets
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.db import Database
from redcard.discovery.ranking import as_uuid
from redcard.discovery.search import NearbyPage, NearbyQuery, brute_force, nearby
from redcard.kit.geo import EARTH_RADIUS_M
from redcard.kit.ids import new_id
from redcard.kit.time import utc_now
from redcard.models import Merchant, MerchantStatus, Role, Store, StoreStatus, User

HOME = (31.2304, 121.4737)  # 人民广场


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point `north_m` metres north and `east_m` east of (lat, lng)."""
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlng = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lng + dlng


async def add_merchant(
    session: AsyncSession, name: str = "小店", status: MerchantStatus = MerchantStatus.approved
) -> uuid.UUID:
    owner_id, merchant_id = new_id(), new_id()
    number = f"171{secrets.randbelow(10**8):08d}"
    now = utc_now()
    await session.execute(
        insert(User).values(
            id=owner_id,
            role=Role.merchant_staff,
            phone=number,
            display_name="店主",
            password_hash="!",
            created_at=now,
        )
    )
    await session.execute(
        insert(Merchant).values(
            id=merchant_id,
            name=name,
            contact_name="店主",
            contact_phone=number,
            owner_id=owner_id,
            status=status,
            created_at=now,
        )
    )
    return merchant_id


def store_row(
    merchant_id: uuid.UUID,
    name: str,
    at: tuple[float, float],
    *,
    category: str = "food",
    status: StoreStatus = StoreStatus.live,
    score: float | None = None,
    curated: bool = False,
    inspected_on: date | None = None,
    last_review_at: datetime | None = None,
    opening_hours: str | None = None,
    **more: Any,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "merchant_id": merchant_id,
        "name": name,
        "category": category,
        "district": "黄浦区",
        "address": "人民大道 1 号",
        "lat": at[0],
        "lng": at[1],
        "status": status,
        "score": score,
        "curated": curated,
        "inspected_on": inspected_on,
        "last_review_at": last_review_at,
        "opening_hours": opening_hours,
        "discount_bp": 1200,
        "pay_code": secrets.token_hex(8),
        "created_at": utc_now(),
        **more,
    }


async def add_stores(session: AsyncSession, rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Bulk insert (the cells come from the column defaults, as for the demo's seed)."""
    if rows:
        await session.execute(insert(Store), rows)
    return [row["id"] for row in rows]


async def add_store(db: Database, name: str, at: tuple[float, float], **kw: Any) -> uuid.UUID:
    async with db.session_scope() as session:
        merchant_id = await add_merchant(session, name)
        return (await add_stores(session, [store_row(merchant_id, name, at, **kw)]))[0]


async def search(db: Database, query: NearbyQuery, **kw: Any) -> NearbyPage:
    async with db.session_scope() as session:
        return await nearby(session, query, **kw)


async def all_pages(db: Database, query: NearbyQuery, **kw: Any) -> list[NearbyPage]:
    pages = [await search(db, query, **kw)]
    while pages[-1].next_cursor is not None:
        nxt = NearbyQuery(
            query.lat, query.lng, query.radius_m, query.filters, pages[-1].next_cursor, query.limit
        )
        pages.append(await search(db, nxt, **kw))
        assert len(pages) < 1000
    return pages


async def scan(db: Database, query: NearbyQuery, **kw: Any) -> list[uuid.UUID]:
    """The brute-force ranking over every store: the ids in order."""
    async with db.session_scope() as session:
        return [as_uuid(r.store_id) for r in await brute_force(session, query, **kw)]


async def names(db: Database, ids: list[uuid.UUID]) -> list[str]:
    async with db.session_scope() as session:
        found = dict(
            (await session.execute(select(Store.id, Store.name).where(Store.id.in_(ids)))).all()
        )
    return [found[i] for i in ids]
