from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum


class MerchantStatus(StrEnum):
    pending = "pending"  # applied, waiting for an operator
    approved = "approved"
    rejected = "rejected"
    left = "left"  # left the programme; pending settlements still pay out


class Merchant(IdMixin, CreatedAtMixin, Base):
    """A business that gives card holders a discount. Its fee plan defaults to the seed
    programme's: 0% commission, 0.6% payment fee on the first ¥1,000,000 of 买单 sales."""

    __tablename__ = "merchants"
    __table_args__ = (
        CheckConstraint("commission_bp >= 0 AND commission_bp <= 10000", name="commission"),
        CheckConstraint("payment_fee_bp >= 0 AND payment_fee_bp <= 10000", name="payment_fee"),
        CheckConstraint("fee_above_bp >= 0 AND fee_above_bp <= 10000", name="fee_above"),
    )

    name: Mapped[str] = mapped_column(String(100))
    contact_name: Mapped[str] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[MerchantStatus] = mapped_column(
        str_enum(MerchantStatus), default=MerchantStatus.pending, index=True
    )
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    commission_bp: Mapped[int] = mapped_column(default=0)
    payment_fee_bp: Mapped[int] = mapped_column(default=60)
    fee_threshold_fen: Mapped[int] = mapped_column(Fen, default=100_000_000)
    fee_above_bp: Mapped[int] = mapped_column(default=60)
