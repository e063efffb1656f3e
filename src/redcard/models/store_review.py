from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, IdMixin


class StoreReview(IdMixin, CreatedAtMixin, Base):
    """A member's review of a store, tied to one real purchase there: a committed redemption
    (code at the till, or 持卡买单) of that member at that store. UNIQUE (redemption_id): one
    review per purchase, whatever races. An operator may hide it with a reason the author
    sees; a hidden review counts nowhere (curation/)."""

    __tablename__ = "store_reviews"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),
        CheckConstraint("(hidden_at IS NULL) = (hidden_reason IS NULL)", name="hidden_with_reason"),
        Index("ix_store_reviews_store_created_at", "store_id", "created_at"),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id"))
    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("merchants.id"))  # the store's
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redemptions.id"), unique=True)
    stars: Mapped[int]
    body: Mapped[str] = mapped_column(Text, default="")
    hidden_at: Mapped[datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
