from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.kit.time import utc_now
from redcard.models.base import Base, CreatedAtMixin, IdMixin, str_enum


class DeliveryStatus(StrEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"


class NotificationDelivery(IdMixin, CreatedAtMixin, Base):
    """One notification on its way through one sink (`inbox`, `smtp`, `file`, …).

    Each sink's delivery is claimed, retried (`next_attempt_at`, kit/retry.backoff) and
    failed on its own, so a sink that is down holds up only its own rows. The row's id is
    the message's key at that sink: the same on every retry (e-mail: the Message-ID), so a
    resend after a worker was killed between the send and the commit is recognisable."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "sink"),
        # each sink's claim: one ordered range of its due rows
        Index(
            "ix_notification_deliveries_due",
            "sink",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
    )

    notification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notifications.id"))
    # the member's id again, so the row sits with its notification on a member's shard
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    sink: Mapped[str] = mapped_column(String(16))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.queued
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
