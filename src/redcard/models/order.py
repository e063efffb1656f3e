from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum


class OrderKind(StrEnum):
    membership = "membership"
    store_bill = "store_bill"  # 持卡买单: a discounted bill paid through the platform
    event = "event"  # a paid members-only event registration


class OrderStatus(StrEnum):
    pending = "pending"  # waiting for the channel to confirm payment
    paid = "paid"
    failed = "failed"
    refunded = "refunded"


class Order(IdMixin, CreatedAtMixin, Base):
    """What a member agreed to pay for, at which price and under which terms."""

    __tablename__ = "orders"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[OrderKind] = mapped_column(str_enum(OrderKind))
    plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id"))
    terms_version_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("terms_versions.id"))
    amount_fen: Mapped[int] = mapped_column(Fen)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus), default=OrderStatus.pending)
    converts_trial: Mapped[bool] = mapped_column(default=False)
    paid_at: Mapped[datetime | None]
