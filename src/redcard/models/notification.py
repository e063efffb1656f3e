from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.kit.time import utc_now
from redcard.models.base import Base, CreatedAtMixin, IdMixin
from redcard.ops.logs import current_request_id


class Notification(IdMixin, CreatedAtMixin, Base):
    """Outbox: a message to a user, written in the business transaction, sent by the worker.

    A message the sink refuses waits `next_attempt_at` (kit/retry.backoff) and, once retrying
    cannot help, leaves the queue with `failed_at` and the reason in `last_error`."""

    __tablename__ = "notifications"
    __table_args__ = (
        # the worker's claim: one ordered range of the messages still due (migration 0015)
        Index(
            "ix_notifications_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
            sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    template: Mapped[str] = mapped_column(String(48))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    # server defaults too: the sunset writes its notices with one INSERT … SELECT
    next_attempt_at: Mapped[datetime] = mapped_column(
        default=utc_now, server_default=func.current_timestamp()
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
    failed_at: Mapped[datetime | None]
    # the request that wrote it, so the worker's lines about it carry the same id
    request_id: Mapped[str | None] = mapped_column(String(64), default=current_request_id)
