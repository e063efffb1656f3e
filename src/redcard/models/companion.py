from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, IdMixin, str_enum


class CompanionStatus(StrEnum):
    pending = "pending"  # invited by phone, not accepted yet
    active = "active"  # accepted: the companion's code uses the primary's card
    declined = "declined"  # the invitee said no
    removed = "removed"  # the primary removed the companion (or withdrew the invitation)
    ended = "ended"  # by the system: own card bought, another invitation accepted, closure


class Companion(IdMixin, CreatedAtMixin, Base):
    """A household companion on a primary member's card (issue 16).

    The row ties the companion to the primary *person*, not to one card row, so a renewed card
    keeps its companion; whether the companion's code works is decided live from the primary's
    usable paid card. `phone` is the invited number, kept only while the invitation is
    pending. At most one pending-or-active companion per primary, and a person is the active
    companion of at most one primary (partial unique indexes)."""

    __tablename__ = "companions"
    __table_args__ = (
        Index(
            "uq_companions_one_per_primary",
            "primary_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'active')"),
            sqlite_where=text("status IN ('pending', 'active')"),
        ),
        Index(
            "uq_companions_one_card_per_companion",
            "companion_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    primary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    companion_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    status: Mapped[CompanionStatus] = mapped_column(str_enum(CompanionStatus))
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
