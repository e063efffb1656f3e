from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum


class PlanKind(StrEnum):
    paid = "paid"
    trial = "trial"


class PlanStatus(StrEnum):
    active = "active"
    retired = "retired"


class RefundPolicy(StrEnum):
    full = "full"
    pro_rata = "pro_rata"
    paid_minus_benefits = "paid_minus_benefits"


class Plan(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="price_not_negative"),
        CheckConstraint("duration_days > 0 AND duration_days <= 1830", name="duration_range"),
        CheckConstraint("(kind = 'trial') = (price_fen = 0)", name="trial_is_free"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # the name on English pages, when the operator gave one (web.i18n.local_name)
    name_en: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[PlanKind] = mapped_column(str_enum(PlanKind))
    status: Mapped[PlanStatus] = mapped_column(str_enum(PlanStatus), default=PlanStatus.active)
    price_fen: Mapped[int] = mapped_column(Fen)
    duration_days: Mapped[int]
    refund_policy: Mapped[RefundPolicy] = mapped_column(str_enum(RefundPolicy))
    cooling_off_days: Mapped[int] = mapped_column(default=7)
    auto_renew_allowed: Mapped[bool] = mapped_column(default=False)
    terms_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("terms_versions.id"))
