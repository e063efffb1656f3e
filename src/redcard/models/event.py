from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum


class EventStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"


class EventEligibility(StrEnum):
    card = "card"  # active paid card holders only
    card_or_trial = "card_or_trial"  # trial cards too


class Event(IdMixin, CreatedAtMixin, Base):
    """A members-only event. `registered` counts the seats taken (held, confirmed, attended,
    no-show); the database refuses `registered > capacity` and `registered < 0`."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("registered >= 0 AND registered <= capacity", name="seats"),
        CheckConstraint("price_fen >= 0", name="price"),
        CheckConstraint("ends_at > starts_at", name="times"),
        CheckConstraint("store_id IS NOT NULL OR venue IS NOT NULL", name="place"),
        CheckConstraint("hold_minutes > 0", name="hold"),
    )

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    store_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stores.id"), index=True)
    venue: Mapped[str | None] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    registration_opens_at: Mapped[datetime]
    registration_closes_at: Mapped[datetime]
    cancel_deadline: Mapped[datetime]
    capacity: Mapped[int]
    registered: Mapped[int] = mapped_column(default=0)
    waitlist_seq: Mapped[int] = mapped_column(default=0)
    eligibility: Mapped[EventEligibility] = mapped_column(
        str_enum(EventEligibility), default=EventEligibility.card
    )
    price_fen: Mapped[int] = mapped_column(Fen, default=0)
    hold_minutes: Mapped[int] = mapped_column(default=30)
    status: Mapped[EventStatus] = mapped_column(
        str_enum(EventStatus), default=EventStatus.scheduled, index=True
    )
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    no_shows_recorded_at: Mapped[datetime | None]
    # the version of its picture (`event_images`, the start of its digest) for the picture's
    # URL, so a page shows the picture or a placeholder without another query; None: none
    image_version: Mapped[str | None] = mapped_column(String(16))

    def seats_left(self) -> int:
        return max(0, self.capacity - self.registered)

    @property
    def is_paid(self) -> bool:
        return self.price_fen > 0

    def registration_open(self, at: datetime) -> bool:
        return (
            self.status == EventStatus.scheduled
            and self.registration_opens_at <= at < self.registration_closes_at
            and at < self.starts_at
        )
