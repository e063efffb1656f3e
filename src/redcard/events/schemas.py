"""Request and response models for events."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from redcard.models import EventEligibility, EventStatus, RegistrationStatus


class EventCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    store_id: uuid.UUID | None = None
    venue: str | None = Field(default=None, max_length=300)
    starts_at: datetime
    ends_at: datetime
    capacity: int = Field(gt=0, le=100_000)
    registration_opens_at: datetime | None = None  # default: now
    registration_closes_at: datetime | None = None  # default: the start
    cancel_deadline: datetime | None = None  # default: 24 h before the start
    eligibility: EventEligibility = EventEligibility.card
    price_fen: int = Field(default=0, ge=0, le=10_000_000, strict=True)
    hold_minutes: int = Field(default=30, gt=0, le=24 * 60)

    @model_validator(mode="after")
    def _check(self) -> EventCreate:
        for name in (
            "starts_at",
            "ends_at",
            "registration_opens_at",
            "registration_closes_at",
            "cancel_deadline",
        ):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a time zone (e.g. 2026-12-01T19:00:00+08:00)")
        if self.ends_at <= self.starts_at:
            raise ValueError("the event must end after it starts")
        if self.store_id is None and not (self.venue or "").strip():
            raise ValueError("give a store or a venue")
        closes = self.registration_closes_at or self.starts_at
        if closes > self.starts_at:
            raise ValueError("registration must close by the start")
        if self.registration_opens_at is not None and self.registration_opens_at >= closes:
            raise ValueError("registration must open before it closes")
        deadline = self.cancel_deadline or self.starts_at - timedelta(hours=24)
        if deadline > self.starts_at:
            raise ValueError("the cancellation deadline must be before the start")
        return self


class EventUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    venue: str | None = Field(default=None, max_length=300)
    capacity: int | None = Field(default=None, gt=0, le=100_000)
    registration_closes_at: datetime | None = None
    cancel_deadline: datetime | None = None


class EventCancel(BaseModel):
    reason: str = Field(min_length=1, max_length=300)


class CheckIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class Event(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    store_id: uuid.UUID | None
    venue: str | None
    starts_at: datetime
    ends_at: datetime
    registration_opens_at: datetime
    registration_closes_at: datetime
    cancel_deadline: datetime
    capacity: int
    registered: int
    seats_left: int
    eligibility: EventEligibility
    price_fen: int
    hold_minutes: int
    status: EventStatus


class Seats(BaseModel):
    id: uuid.UUID
    capacity: int
    seats_left: int
    waitlist: int
    status: EventStatus


class Registration(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: uuid.UUID
    status: RegistrationStatus
    waitlist_position: int | None
    waitlist_ahead: int | None = None
    code: str | None = None  # shown only to the member, only while it holds a seat
    hold_expires_at: datetime | None
    checked_in_at: datetime | None
    pay_url: str | None = None


class CheckedIn(BaseModel):
    registration_id: uuid.UUID
    event_id: uuid.UUID
    member: str  # masked name only
    checked_in_at: datetime


class EventStats(BaseModel):
    event_id: uuid.UUID
    title: str
    starts_at: datetime
    status: EventStatus
    capacity: int
    registrations: int
    waitlist: int
    checked_in: int
    no_shows: int
    cancelled: int
    fill_rate: float
    checkin_rate: float | None
