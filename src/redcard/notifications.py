"""The notification outbox. Business code writes rows with `enqueue()` in its own
transaction; the worker sends them through the configured sink (console/file by default;
SMS and e-mail adapters plug in behind `Sink`)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.sql import for_update_kwargs
from redcard.kit.time import utc_now
from redcard.models import Notification

log = logging.getLogger("redcard.notifications")


class Sink(Protocol):
    def send(self, notifications: Sequence[Notification]) -> None: ...


class LogSink:
    """Writes each message as one JSON line to a file (or the log when no file is set)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.name = "log" if path is None else "file"

    def send(self, notifications: Sequence[Notification]) -> None:
        lines = [
            json.dumps(
                {"to": str(n.user_id), "template": n.template, "params": n.params},
                ensure_ascii=False,
            )
            for n in notifications
        ]
        if self.path is None:
            for line in lines:
                log.info("notify %s", line)
            return
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))


_sink: Sink = LogSink()


def use_sink(sink: Sink) -> None:
    global _sink
    _sink = sink


def sink_name() -> str:
    """The configured sink, as metrics label it (`log`, `file`, `smtp`, …)."""
    return str(getattr(_sink, "name", type(_sink).__name__))


def enqueue(
    session: AsyncSession, user_id: uuid.UUID, template: str, **params: Any
) -> Notification:
    note = Notification(user_id=user_id, template=template, params=params)
    session.add(note)
    return note


async def send_pending(session: AsyncSession, limit: int = 500) -> int:
    """Claim unsent notifications, hand them to the sink, mark them sent (at-least-once)."""
    batch = (
        await session.scalars(
            select(Notification)
            .where(Notification.sent_at.is_(None))
            .order_by(Notification.created_at)
            .limit(limit)
            .with_for_update(**for_update_kwargs(session, skip_locked=True))
        )
    ).all()
    if batch:
        _sink.send(batch)
        now = utc_now()
        for note in batch:
            note.sent_at = now
        await session.flush()
    return len(batch)
