from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.kit.time import utc_now
from redcard.models.base import Base, CreatedAtMixin, IdMixin
from redcard.ops.logs import current_request_id

UNREAD = "inbox_at IS NOT NULL AND read_at IS NULL"


class Notification(IdMixin, CreatedAtMixin, Base):
    """Outbox: a message to a user, written in the business transaction, sent by the worker.

    The worker dispatches it (`dispatched_at`): one `NotificationDelivery` per sink it goes
    to (the in-app inbox, e-mail, a file), each delivered, retried and failed on its own.
    `sent_at` is set once every delivery is sent; `failed_at` (with `last_error`) once a
    delivery failed for good and none is still queued. The inbox shows it from `inbox_at`;
    `read_at` is when the member opened it. `dedupe_key` makes a reminder once per member
    and period (`notifications.enqueue_once`)."""

    __tablename__ = "notifications"
    __table_args__ = (
        # the worker's dispatch claim: one ordered range of the messages not yet dispatched
        Index(
            "ix_notifications_to_dispatch",
            "next_attempt_at",
            "id",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
        # a member's inbox, newest first; its unread badge
        Index("ix_notifications_inbox", "user_id", "inbox_at"),
        Index(
            "ix_notifications_unread",
            "user_id",
            postgresql_where=text(UNREAD),
            sqlite_where=text(UNREAD),
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
    dispatched_at: Mapped[datetime | None]
    inbox_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
