"""A store's public page, composed once for the API and the pages: the store, its merchant's
name, terms, hours this week, curation figures and the events coming up there."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.discovery import hours
from redcard.discovery.search import visible
from redcard.errors import NotFound
from redcard.events import repository as events_repo
from redcard.kit.time import as_utc, utc_now
from redcard.models import EventStatus, Merchant, Store


@dataclass(frozen=True, slots=True)
class UpcomingEvent:
    id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    seats_left: int
    price_fen: int
    image_version: str | None


@dataclass(frozen=True, slots=True)
class DayHours:
    day: date
    ranges: list[tuple[datetime, datetime]]  # in the store's zone; may run past midnight


@dataclass(frozen=True, slots=True)
class StoreDetail:
    store_id: uuid.UUID
    merchant_id: uuid.UUID
    merchant_name: str
    name: str
    category: str
    district: str | None
    address: str | None
    lat: float
    lng: float
    discount_bp: int
    discount_cap_fen: int | None
    min_bill_fen: int
    excluded_categories: list[str]
    exclusive_to_members: bool
    opening_hours: str | None
    hours_generated: bool
    timezone: str | None
    week: list[DayHours]  # this week, Monday first, in the store's zone
    open_now: bool | None
    description: str | None
    photos_version: str | None
    curated: bool
    score: float | None
    rating_avg: float | None
    review_count: int
    inspected_on: date | None
    last_review_at: datetime | None
    events: list[UpcomingEvent]


def _excluded(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


async def store_detail(session: AsyncSession, store_id: uuid.UUID) -> StoreDetail:
    """The store as members see it. Not live, or its merchant not approved: 404."""
    row = (
        await session.execute(
            select(Store, Merchant.name)
            .join(Merchant, Merchant.id == Store.merchant_id)
            .where(Store.id == store_id, visible())
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no such store, or it does not take the card now")
    store, merchant_name = row
    now = utc_now()
    local = now.astimezone(hours.store_zone(store.timezone))
    monday = local.date() - timedelta(days=local.weekday())
    week = [
        DayHours(day, ranges)
        for day, ranges in hours.week(store.opening_hours, store.timezone, monday)
    ]
    events = [
        UpcomingEvent(
            id=e.id,
            title=e.title,
            starts_at=as_utc(e.starts_at),
            ends_at=as_utc(e.ends_at),
            seats_left=e.seats_left(),
            price_fen=e.price_fen,
            image_version=e.image_version,
        )
        for e in await events_repo.list_for_staff(session, [store.id])
        if e.status == EventStatus.scheduled and as_utc(e.starts_at) > now
    ]
    events.sort(key=lambda e: (e.starts_at, e.id))
    return StoreDetail(
        store_id=store.id,
        merchant_id=store.merchant_id,
        merchant_name=merchant_name,
        name=store.name,
        category=store.category,
        district=store.district,
        address=store.address,
        lat=store.lat,
        lng=store.lng,
        discount_bp=store.discount_bp,
        discount_cap_fen=store.discount_cap_fen,
        min_bill_fen=store.min_bill_fen,
        excluded_categories=_excluded(store.excluded_categories),
        exclusive_to_members=store.exclusive_to_members,
        opening_hours=store.opening_hours,
        hours_generated=store.hours_generated,
        timezone=store.timezone,
        week=week,
        open_now=hours.is_open(store.opening_hours, store.timezone, now),
        description=store.description,
        photos_version=store.photos_version,
        curated=store.curated,
        score=store.score,
        rating_avg=store.rating_avg,
        review_count=store.review_count,
        inspected_on=store.inspected_on,
        last_review_at=None if store.last_review_at is None else as_utc(store.last_review_at),
        events=events,
    )
