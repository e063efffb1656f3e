from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from redcard.kit.geo import COARSE, FINE, cell_of
from redcard.kit.money import card_discount
from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum


class StoreStatus(StrEnum):
    pending = "pending"  # waiting for the merchant's application to be approved
    live = "live"
    paused = "paused"  # the merchant paused it: no discount for now
    closed = "closed"  # rejected, or the merchant left


def _cell(resolution: int):  # type: ignore[no-untyped-def]
    """A column default: the H3 cell of the row's own coordinates, for ORM and bulk inserts
    alike, so no path can store a store the spatial index cannot find."""

    def compute(context: DefaultExecutionContext) -> int:
        params = context.get_current_parameters()
        return cell_of(params["lat"], params["lng"], resolution)

    return compute


class Store(IdMixin, CreatedAtMixin, Base):
    """A physical store with the card holders' discount terms. Coordinates are WGS-84."""

    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint("discount_bp >= 1000 AND discount_bp <= 9000", name="discount_range"),
        CheckConstraint("discount_cap_fen IS NULL OR discount_cap_fen > 0", name="cap_positive"),
        CheckConstraint("min_bill_fen >= 0", name="min_bill"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180", name="coords"),
        Index("ix_stores_lat_lng", "lat", "lng"),
        # a cell's stores, for the nearby snapshot's fills (discovery/snapshot.py)
        Index("ix_stores_cell_fine_status", "cell_fine", "status"),
        Index("ix_stores_cell_coarse_status", "cell_coarse", "status"),
        CheckConstraint("review_count >= 0", name="review_count"),
        CheckConstraint("rating_avg IS NULL OR rating_avg BETWEEN 1 AND 5", name="rating_range"),
    )

    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), index=True)
    district: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    # OpenStreetMap's opening_hours syntax ("Mo-Fr 10:00-14:00,17:00-02:00; Sa,Su 10:00-22:00"),
    # read in the store's own zone (`timezone`; unset: the programme's). discovery/hours.py.
    opening_hours: Mapped[str | None] = mapped_column(String(500))
    hours_generated: Mapped[bool] = mapped_column(default=False)  # demo: guessed by category
    timezone: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    photos_version: Mapped[str | None] = mapped_column(String(16))  # changes with the photos
    # the spatial index: H3 cells of (lat, lng) at two resolutions (kit/geo.py), set by default
    # (coordinates are fixed once a store exists; a path that moves one sets its cells too)
    cell_fine: Mapped[int] = mapped_column(BigInteger, default=_cell(FINE))
    cell_coarse: Mapped[int] = mapped_column(BigInteger, default=_cell(COARSE))
    # curation (curation/): kept on the row so the nearby query ranks without a join
    rating_avg: Mapped[float | None] = mapped_column(Float)  # visible reviews' mean stars
    review_count: Mapped[int] = mapped_column(default=0)  # visible reviews
    score: Mapped[float | None] = mapped_column(Float)  # community score, 1-5 (shrunk)
    last_review_at: Mapped[datetime | None]
    inspected_on: Mapped[date | None]  # the latest passing in-person inspection
    curated: Mapped[bool] = mapped_column(default=False, index=True)  # the 精选 badge
    curated_at: Mapped[datetime | None]
    # the day the worker next re-evaluates the score and badge (NULL: nothing to evaluate)
    curation_due_on: Mapped[date | None] = mapped_column(index=True)
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
