from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, IdMixin, str_enum


class RegistrationStatus(StrEnum):
    awaiting_payment = "awaiting_payment"  # a seat is held until hold_expires_at
    registered = "registered"  # a confirmed seat
    waitlisted = "waitlisted"
    checked_in = "checked_in"
    no_show = "no_show"
    cancelled = "cancelled"  # by the member
    released = "released"  # the card ended, or a held seat lapsed unpaid
    event_cancelled = "event_cancelled"


SEAT_STATUSES = (
    RegistrationStatus.awaiting_payment,
    RegistrationStatus.registered,
    RegistrationStatus.checked_in,
    RegistrationStatus.no_show,
)
LIVE_STATUSES = (
    RegistrationStatus.awaiting_payment,
    RegistrationStatus.registered,
    RegistrationStatus.waitlisted,
)
ENDED_STATUSES = (
    RegistrationStatus.cancelled,
    RegistrationStatus.released,
)


class EventRegistration(IdMixin, CreatedAtMixin, Base):
    """One member's place at one event: a seat or a waitlist position. One row per
    (event, member): cancelling and joining again reuses the row."""

    __tablename__ = "event_registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "member_id"),
        UniqueConstraint("event_id", "waitlist_position"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"), index=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(str_enum(RegistrationStatus), index=True)
    waitlist_position: Mapped[int | None]
    code: Mapped[str] = mapped_column(String(16), unique=True)  # per-registration check-in code
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    hold_expires_at: Mapped[datetime | None]
    promoted_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    checked_in_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reminded_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    @property
    def holds_seat(self) -> bool:
        return self.status in SEAT_STATUSES
