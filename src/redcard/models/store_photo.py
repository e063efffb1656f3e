from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, IdMixin


class StorePhoto(IdMixin, Base):
    """A photo a merchant gave one of its stores, resized like an event's picture
    (`kit/images.py`) and kept in the database beside the store for the same reasons
    (`models/event_image.py`). A few per store, shown in `position` order."""

    __tablename__ = "store_photos"
    __table_args__ = (
        UniqueConstraint("store_id", "position"),
        CheckConstraint("position >= 0", name="position"),
        CheckConstraint("width > 0 AND height > 0", name="size"),
        CheckConstraint("size_bytes > 0", name="size_bytes"),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    position: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of data: the ETag and ?v=
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
