from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base


class EventImage(Base):
    """The picture an organiser gave an event, already resized (`events/images.py`), stored in
    the database beside the event: every app process serves it, and a database backup holds
    it, with no shared directory to mount or back up besides. One per event; replaced whole."""

    __tablename__ = "event_images"
    __table_args__ = (
        CheckConstraint("width > 0 AND height > 0", name="size"),
        CheckConstraint("size_bytes > 0", name="size_bytes"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of data: the ETag and ?v=
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
