"""Response models for the discovery API."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field


class NearbyItem(BaseModel):
    store_id: uuid.UUID
    merchant_id: uuid.UUID
    name: str
    category: str
    district: str | None
    address: str | None
    lat: float
    lng: float
    distance_m: int = Field(description="great-circle distance from the asked point, metres")
    discount_bp: int = Field(description="basis points off the bill (1000 = 10% off, 9折)")
    discount_cap_fen: int | None
    min_bill_fen: int
    curated: bool = Field(description="the 精选 badge")
    score: float | None = Field(description="community score, 1-5; null: not enough reviews")
    rating_avg: float | None
    review_count: int
    inspected_on: date | None
    open_now: bool | None = Field(description="null when the store's hours are unknown")
    photos_version: str | None


class NearbyOut(BaseModel):
    items: list[NearbyItem]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")
    total: int = Field(description="stores within the radius that pass the filters")


class OpenRange(BaseModel):
    opens: datetime
    closes: datetime


class DayHoursOut(BaseModel):
    day: date
    ranges: list[OpenRange]


class UpcomingEventOut(BaseModel):
    id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    seats_left: int
    price_fen: int


class StoreDetailOut(BaseModel):
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
    opening_hours: str | None = Field(description="OpenStreetMap opening_hours syntax")
    hours_generated: bool = Field(description="true: guessed by category (demo), not real")
    timezone: str | None
    week: list[DayHoursOut] = Field(description="this week's open ranges in the store's zone")
    open_now: bool | None
    description: str | None
    photos_version: str | None
    curated: bool
    score: float | None
    rating_avg: float | None
    review_count: int
    inspected_on: date | None
    last_review_at: datetime | None
    events: list[UpcomingEventOut]
