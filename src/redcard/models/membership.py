from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, IdMixin, str_enum
from redcard.models.plan import PlanKind


class MembershipStatus(StrEnum):
    active = "active"
    expired = "expired"
    converted = "converted"  # a trial that became a paid card, with consent
    suspended = "suspended"
    refunded = "refunded"


class Membership(IdMixin, CreatedAtMixin, Base):
    """A member's card. At most one is active per member, enforced by a partial unique index."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index(
            "uq_memberships_one_active_per_member",
            "member_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    kind: Mapped[PlanKind] = mapped_column(str_enum(PlanKind))
    status: Mapped[MembershipStatus] = mapped_column(str_enum(MembershipStatus), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    auto_renew: Mapped[bool] = mapped_column(default=False)
    ended_at: Mapped[datetime | None]

    def is_usable(self, at: datetime) -> bool:
        """Benefits apply: active, started, and not past its end."""
        return self.status == MembershipStatus.active and self.starts_at <= at < self.ends_at
