"""The notification outbox. Business code declares what it says with `message()` and writes
rows with `enqueue()` (or `enqueue_once()`) in its own transaction; the worker delivers them
through every configured sink (`redcard.delivery`: the in-app inbox, e-mail over SMTP, a
file), each sink on its own.

Delivery is at least once: a worker killed after a sink took a batch and before it committed
sends that batch again, with the same per-sink key (the delivery's id; e-mail's Message-ID),
so a resend is recognisable. A message a sink refuses is set aside (kit/retry) without
holding up the others or the other sinks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.ids import new_id
from redcard.kit.sql import insert_ignore, rowcount
from redcard.kit.time import utc_now
from redcard.models import Notification
from redcard.ops.logs import current_request_id


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


def enqueue(
    session: AsyncSession, user_id: uuid.UUID, template: str, **params: Any
) -> Notification:
    note = Notification(user_id=user_id, template=template, params=params)
    session.add(note)
    return note


async def enqueue_once(
    session: AsyncSession, user_id: uuid.UUID, template: str, key: str, **params: Any
) -> bool:
    """`enqueue`, at most once per `key` (a reminder per member and period: "card_expiring_7d:
    <card>:<date>"), whatever re-runs or concurrent workers do. True if this call wrote it."""
    now = utc_now()
    stmt = insert_ignore(session, Notification, ["dedupe_key"]).values(
        id=new_id(),
        created_at=now,
        user_id=user_id,
        template=template,
        params=params,
        next_attempt_at=now,
        attempts=0,
        request_id=current_request_id(),
        dedupe_key=key[:120],
    )
    return rowcount(await session.execute(stmt)) == 1
