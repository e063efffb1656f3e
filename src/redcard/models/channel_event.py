from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, IdMixin


class ChannelEvent(IdMixin, Base):
    """A verified notification from a channel. Inserted by (channel, event_id) with
    on-conflict-do-nothing; only a new row triggers work, so replays change nothing."""

    __tablename__ = "channel_events"
    __table_args__ = (UniqueConstraint("channel", "event_id"),)

    channel: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
