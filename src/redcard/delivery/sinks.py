"""The `Sink` interface and the sinks that need no server: the in-app inbox and a JSON-lines
file (or the log). E-mail is `smtp.SmtpSink`. Which sinks run is the process's
configuration (`setup.configure`): the inbox always, a file when `REDCARD_NOTIFICATIONS_FILE` is
set, e-mail when `REDCARD_SMTP_HOST` is."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.time import utc_now
from redcard.models import Notification

log = logging.getLogger("redcard.notifications")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for one sink, rendered in its member's language. `key` is the delivery's
    id: the same on every retry to this sink, so the receiving end can recognise a resend."""

    key: str
    notification_id: uuid.UUID
    user_id: uuid.UUID
    template: str
    params: dict[str, Any]
    locale: str
    email: str | None
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class Recipient:
    """What delivery needs of a member (read as plain columns, not loaded as a `User`)."""

    id: uuid.UUID
    locale: str | None
    email: str | None
    marketing_messages: bool
    closed: bool


class Sink(Protocol):
    """A way messages reach people. `send` hands a batch over and returns the messages it
    could not deliver (key → why); raising means the batch as a whole failed, and each
    message is then tried alone so that one bad message cannot hold up the rest."""

    name: str

    def accepts(self, user: Recipient) -> bool:
        """Whether messages to `user` go through this sink at all (e-mail: an address)."""
        ...

    async def send(
        self, session: AsyncSession, batch: Sequence[Outgoing]
    ) -> Mapping[str, Exception]: ...


class InboxSink:
    """The in-app inbox (我的 → 消息): the message is shown to its member from `inbox_at`.
    Pages render it in the reader's language when shown; resending changes nothing."""

    name = "inbox"

    def accepts(self, user: Recipient) -> bool:
        return True

    async def send(
        self, session: AsyncSession, batch: Sequence[Outgoing]
    ) -> Mapping[str, Exception]:
        await session.execute(
            update(Notification)
            .where(
                Notification.id.in_([o.notification_id for o in batch]),
                Notification.inbox_at.is_(None),
            )
            .values(inbox_at=utc_now())
            .execution_options(synchronize_session=False)
        )
        return {}


class LogSink:
    """Writes each message as one JSON line to a file (or the log when no file is set)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.name = "log" if path is None else "file"

    def accepts(self, user: Recipient) -> bool:
        return True

    async def send(
        self, session: AsyncSession, batch: Sequence[Outgoing]
    ) -> Mapping[str, Exception]:
        lines = [
            json.dumps(
                {
                    "id": str(o.notification_id),
                    "key": o.key,
                    "to": str(o.user_id),
                    "template": o.template,
                    "params": o.params,
                    "subject": o.subject,
                },
                ensure_ascii=False,
            )
            for o in batch
        ]
        if self.path is None:
            for line in lines:
                log.info("notify %s", line)
        else:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write("".join(line + "\n" for line in lines))
        return {}


_sinks: list[Sink] = [InboxSink()]


def use_sinks(*sinks: Sink) -> None:
    """The sinks this process delivers through (tests put their own fakes here)."""
    _sinks[:] = list(sinks)


def use_sink(sink: Sink) -> None:
    use_sinks(sink)


def active() -> list[Sink]:
    return list(_sinks)


def sink_names() -> list[str]:
    return [s.name for s in _sinks]
