"""The notification outbox. Business code writes rows with `enqueue()` in its own
transaction; the worker sends them through the configured sink (console/file by default;
SMS and e-mail adapters plug in behind `Sink`).

Delivery is at least once: a worker killed after the sink took a batch and before it
committed sends that batch again, so a sink de-duplicates by the notification's id. A message
the sink refuses is set aside (kit/retry) without holding up the others."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.retry import MAX_ATTEMPTS, backoff, error_text, is_transient
from redcard.kit.sql import for_update_kwargs
from redcard.kit.time import utc_now
from redcard.models import Notification

log = logging.getLogger("redcard.notifications")


@dataclass(frozen=True, slots=True)
class Message:
    """What a template says. `subject` and `body` are English msgids (the zh_CN catalog holds
    the Chinese), with `{name}` fields filled from the notification's params after
    translation. A `marketing` message is one the member may turn off; every other one is a
    notice they are owed (renewal, expiry, refunds) and always goes out."""

    template: str
    subject: str
    body: str
    marketing: bool = False


MESSAGES: dict[str, Message] = {}


def message(template: str, subject: str, body: str, *, marketing: bool = False) -> str:
    """Declare a template where the capability that sends it lives, at import time:
    `RENEWAL_NOTICE = message("renewal_notice", "…", "…")`, then
    `enqueue(session, user_id, RENEWAL_NOTICE, …)`. Returns the template's name."""
    if template in MESSAGES and MESSAGES[template] != Message(template, subject, body, marketing):
        raise ValueError(f"notification template {template!r} is declared twice, differently")
    MESSAGES[template] = Message(template, subject, body, marketing)
    return template


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
                {
                    "id": str(n.id),
                    "to": str(n.user_id),
                    "template": n.template,
                    "params": n.params,
                },
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
    """Claim due notifications, hand them to the sink, mark them sent (at least once).

    If the sink refuses the batch, each message is tried alone, so one bad message is set
    aside and the rest go out. Returns how many were sent."""
    now = utc_now()
    batch = (
        await session.scalars(
            select(Notification)
            .where(
                Notification.sent_at.is_(None),
                Notification.failed_at.is_(None),
                Notification.next_attempt_at <= now,
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
            .with_for_update(**for_update_kwargs(session, skip_locked=True))
        )
    ).all()
    if not batch:
        return 0
    try:
        _sink.send(batch)
        sent = list(batch)
    except Exception:
        sent = []
        for note in batch:
            try:
                _sink.send([note])
                sent.append(note)
            except Exception as exc:  # this message only: the others still go
                _set_aside(note, exc, now)
    for note in sent:
        note.sent_at = now
    await session.flush()
    return len(sent)


def _set_aside(note: Notification, exc: Exception, now: datetime) -> None:
    note.attempts += 1
    note.last_error = error_text(exc)
    if is_transient(exc) and note.attempts < MAX_ATTEMPTS:
        note.next_attempt_at = now + backoff(note.attempts)
        log.warning(
            "notification %s will be retried: %s",
            note.id,
            note.last_error,
            extra={"request_id": note.request_id},
        )
        return
    note.failed_at = now
    log.error(
        "notification %s moved to the exceptions queue: %s",
        note.id,
        note.last_error,
        extra={"request_id": note.request_id},
    )


async def list_failed(session: AsyncSession, limit: int = 100) -> Sequence[Notification]:
    """The notifications' exceptions queue, newest first."""
    return (
        await session.scalars(
            select(Notification)
            .where(Notification.failed_at.is_not(None))
            .order_by(Notification.failed_at.desc())
            .limit(limit)
        )
    ).all()
