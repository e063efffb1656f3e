from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.kit.money import card_discount
from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum


class StoreStatus(StrEnum):
    pending = "pending"  # waiting for the merchant's application to be approved
    live = "live"
    paused = "paused"  # the merchant paused it: no discount for now
    closed = "closed"  # rejected, or the merchant left


class Store(IdMixin, CreatedAtMixin, Base):
    """A physical store with the card holders' discount terms. Coordinates are WGS-84."""

    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint("discount_bp >= 1000 AND discount_bp <= 9000", name="discount_range"),
        CheckConstraint("discount_cap_fen IS NULL OR discount_cap_fen > 0", name="cap_positive"),
        CheckConstraint("min_bill_fen >= 0", name="min_bill"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180", name="coords"),
        Index("ix_stores_lat_lng", "lat", "lng"),
    )

    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), index=True)
    district: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    opening_hours: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[StoreStatus] = mapped_column(
        str_enum(StoreStatus), default=StoreStatus.pending, index=True
    )
    # the card holders' terms: at least 10% off (discount_bp >= 1000)
    discount_bp: Mapped[int]
    discount_cap_fen: Mapped[int | None] = mapped_column(Fen)
    min_bill_fen: Mapped[int] = mapped_column(Fen, default=0)
    excluded_categories: Mapped[str | None] = mapped_column(Text)
    # True when the same deal is NOT available to non-members elsewhere (scarcity)
    exclusive_to_members: Mapped[bool] = mapped_column(default=False)
    pay_code: Mapped[str] = mapped_column(String(32), unique=True)  # printed static QR token
    source: Mapped[str] = mapped_column(String(64), default="merchant")  # osm:…, synthetic

    def discount_for(self, bill_fen: int, excluded_fen: int = 0) -> int:
        """The member's discount on a bill under this store's terms (`kit/money.py`)."""
        return card_discount(
            bill_fen,
            excluded_fen,
            rate_bp=self.discount_bp,
            cap_fen=self.discount_cap_fen,
            min_bill_fen=self.min_bill_fen,
        )
