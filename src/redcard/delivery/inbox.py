"""The member's inbox (我的 → 消息): the notifications the inbox sink delivered, newest
first, each rendered in the reader's language when shown; unread until opened.

`messages` is also what a data export lists (every delivered message, read or not)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.delivery.render import UnknownTemplate, render
from redcard.errors import NotFound
from redcard.kit.time import utc_now
from redcard.models import Notification


@dataclass(frozen=True, slots=True)
class InboxMessage:
    id: uuid.UUID
    template: str
    subject: str
    body: str
    at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


def _item(note: Notification, locale: str) -> InboxMessage:
    assert note.inbox_at is not None
    try:
        words = render(note.template, note.params, locale)
        subject, body = words.subject, words.body
    except UnknownTemplate:  # delivered before its text was declared: say what it was
        subject, body = note.template, ""
    return InboxMessage(note.id, note.template, subject, body, note.inbox_at, note.read_at)


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                Notification.user_id == user_id,
                Notification.inbox_at.is_not(None),
                Notification.read_at.is_(None),
            )
        )
        or 0
    )


async def messages(
    session: AsyncSession, user_id: uuid.UUID, locale: str, limit: int | None = 100
) -> list[InboxMessage]:
    """The member's delivered messages, newest first (all of them when `limit` is None)."""
    stmt = (
        select(Notification)
        .where(Notification.user_id == user_id, Notification.inbox_at.is_not(None))
        .order_by(Notification.inbox_at.desc(), Notification.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_item(n, locale) for n in await session.scalars(stmt)]


async def open_message(
    session: AsyncSession, user_id: uuid.UUID, message_id: uuid.UUID, locale: str
) -> InboxMessage:
    """One of the member's messages, marked read (the first opening's time stays)."""
    note = await session.get(Notification, message_id)
    if note is None or note.user_id != user_id or note.inbox_at is None:
        raise NotFound("no such message")
    if note.read_at is None:
        note.read_at = utc_now()
        await session.flush()
    return _item(note, locale)


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.inbox_at.is_not(None),
            Notification.read_at.is_(None),
        )
        .values(read_at=utc_now())
        .execution_options(synchronize_session=False)
    )
