from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum


class PaymentStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class Payment(IdMixin, CreatedAtMixin, Base):
    """One attempt to collect an order through a channel, keyed by our out_trade_no."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus), default=PaymentStatus.pending
    )
    channel_trade_no: Mapped[str | None] = mapped_column(String(64))
    pay_url: Mapped[str | None] = mapped_column(String(500))
    succeeded_at: Mapped[datetime | None]
    refunded_fen: Mapped[int] = mapped_column(Fen, default=0)
