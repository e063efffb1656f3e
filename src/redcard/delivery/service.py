"""The worker's delivery step: dispatch new notifications to the sinks, then deliver each
sink's due rows.

Dispatch writes one `NotificationDelivery` per notification and sink that takes it (the
inbox always; e-mail for a member with an address). A marketing message to a member who
turned marketing messages off, or a message to a closed account, gets none. Each sink's
rows are then claimed (`FOR UPDATE SKIP LOCKED`), rendered in the member's language and
handed to the sink; a refused row waits its backoff (kit/retry) or, once retrying cannot
help, fails, for that sink alone. A notification is `sent_at` once all its deliveries are
sent, `failed_at` once one failed and none is still queued."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.delivery import sinks as sink_registry
from redcard.delivery.catalog import load_all
from redcard.delivery.render import render
from redcard.delivery.sinks import Outgoing, Recipient, Sink
from redcard.kit.retry import MAX_ATTEMPTS, backoff, error_text, is_transient
from redcard.kit.sql import for_update_kwargs, insert_rows
from redcard.kit.time import utc_now
from redcard.models import DeliveryStatus, Notification, NotificationDelivery, User
from redcard.notifications import MESSAGES
from redcard.web.i18n import pick

log = logging.getLogger("redcard.notifications")
DELIVERIES = cast(Table, NotificationDelivery.__table__)


async def dispatch(session: AsyncSession, limit: int = 500) -> int:
    """Claim notifications not yet dispatched and queue them for each sink that takes them.
    Returns how many notifications were dispatched."""
    load_all()  # every declared message, to know which are marketing
    now = utc_now()
    notes = (
        await session.scalars(
            select(Notification)
            .where(Notification.dispatched_at.is_(None), Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
            .with_for_update(**for_update_kwargs(session, skip_locked=True))
        )
    ).all()
    if not notes:
        return 0
    users = await _users(session, {n.user_id for n in notes})
    rows: list[dict[str, Any]] = []
    active = sink_registry.active()
    await session.execute(
        update(Notification)
        .where(Notification.id.in_([n.id for n in notes]))
        .values(dispatched_at=now)
        .execution_options(synchronize_session=False)
    )
    for note in notes:
        user = users.get(note.user_id)
        if user is None or user.closed:
            continue
        message = MESSAGES.get(note.template)
        if message is not None and message.marketing and not user.marketing_messages:
            continue  # the member said no to these; notices they are owed always go
        rows.extend(
            {
                "id": delivery_id(note.id, sink.name),
                "created_at": now,
                "notification_id": note.id,
                "user_id": note.user_id,
                "sink": sink.name,
                "status": DeliveryStatus.queued.value,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for sink in active
            if sink.accepts(user)
        )
    await insert_rows(session, DELIVERIES, rows)
    return len(notes)


def delivery_id(notification_id: uuid.UUID, sink: str) -> uuid.UUID:
    """The key of a notification at a sink, the same however often it is dispatched (a
    dispatch rolled back with the send that followed it is done again, with the same keys)."""
    return uuid.uuid5(notification_id, sink)


async def _users(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Recipient]:
    rows = await session.execute(
        select(User.id, User.locale, User.email, User.marketing_messages, User.closed_at).where(
            User.id.in_(ids)
        )
    )
    return {
        r.id: Recipient(r.id, r.locale, r.email, r.marketing_messages, r.closed_at is not None)
        for r in rows
    }


async def deliver(
    session: AsyncSession, sink: Sink, limit: int = 500
) -> tuple[int, set[uuid.UUID]]:
    """Claim the sink's due deliveries, hand them over, record each outcome. Returns how
    many were sent and the notifications they belong to (for `settle`)."""
    now = utc_now()
    claimed = (
        await session.scalars(
            select(NotificationDelivery)
            .where(
                NotificationDelivery.sink == sink.name,
                NotificationDelivery.status == DeliveryStatus.queued,
                NotificationDelivery.next_attempt_at <= now,
            )
            .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
            .limit(limit)
            .with_for_update(**for_update_kwargs(session, skip_locked=True))
        )
    ).all()
    if not claimed:
        return 0, set()
    notes = {
        n.id: n
        for n in await session.scalars(
            select(Notification).where(Notification.id.in_({d.notification_id for d in claimed}))
        )
    }
    users = await _users(session, {d.user_id for d in claimed})
    outgoing: dict[str, Outgoing] = {}
    failed: dict[str, Exception] = {}
    for d in claimed:
        note, user = notes[d.notification_id], users[d.user_id]
        try:
            outgoing[str(d.id)] = _outgoing(d, note, user)
        except Exception as exc:  # a message that cannot be rendered fails alone
            failed[str(d.id)] = exc
    failed.update(await _send(session, sink, list(outgoing.values())))
    sent = 0
    for d in claimed:
        refusal = failed.get(str(d.id))
        if refusal is None:
            d.status, d.sent_at = DeliveryStatus.sent, now
            sent += 1
        else:
            _set_aside(d, notes[d.notification_id], refusal, now)
    await session.flush()
    return sent, set(notes)


def _outgoing(d: NotificationDelivery, note: Notification, user: Recipient) -> Outgoing:
    locale = pick(user.locale)
    words = render(note.template, note.params, locale)
    return Outgoing(
        key=str(d.id),
        notification_id=note.id,
        user_id=user.id,
        template=note.template,
        params=note.params,
        locale=locale,
        email=user.email,
        subject=words.subject,
        body=words.body,
    )


async def _send(
    session: AsyncSession, sink: Sink, batch: Sequence[Outgoing]
) -> Mapping[str, Exception]:
    """The sink's refusals; a batch that raised is tried message by message."""
    if not batch:
        return {}
    try:
        async with session.begin_nested():
            return await sink.send(session, batch)
    except Exception:
        failed: dict[str, Exception] = {}
        for out in batch:
            try:
                async with session.begin_nested():
                    failed.update(await sink.send(session, [out]))
            except Exception as exc:  # this message only: the others still go
                failed[out.key] = exc
        return failed


def _set_aside(d: NotificationDelivery, note: Notification, exc: Exception, now: datetime) -> None:
    d.attempts += 1
    d.last_error = error_text(exc)
    if is_transient(exc) and d.attempts < MAX_ATTEMPTS:
        d.next_attempt_at = now + backoff(d.attempts)
        log.warning(
            "notification %s (%s) will be retried: %s",
            note.id,
            d.sink,
            d.last_error,
            extra={"request_id": note.request_id},
        )
        return
    d.status, d.failed_at = DeliveryStatus.failed, now
    log.error(
        "notification %s (%s) moved to the exceptions queue: %s",
        note.id,
        d.sink,
        d.last_error,
        extra={"request_id": note.request_id},
    )


async def settle(session: AsyncSession, ids: set[uuid.UUID]) -> None:
    """Each notification's outcome over its sinks: sent once all are sent, failed once one
    failed and none is queued. The notifications are locked first (in id order, once per
    transaction), so two workers that delivered one notification through two sinks at the
    same time cannot both read the other's row as still queued and leave it unsettled."""
    if not ids:
        return
    now = utc_now()
    id_list = sorted(ids)
    await session.execute(
        select(Notification.id)
        .where(Notification.id.in_(id_list))
        .order_by(Notification.id)
        .with_for_update(**for_update_kwargs(session))
    )
    # each UPDATE is a statement of its own: on PostgreSQL it reads what committed up to
    # the moment the locks above were granted
    d = NotificationDelivery
    mine = d.notification_id == Notification.id
    open_ = Notification.id.in_(id_list) & Notification.sent_at.is_(None)
    open_ &= Notification.failed_at.is_(None)
    attempts = select(func.max(d.attempts)).where(mine).scalar_subquery()
    queued = exists().where(mine, d.status == DeliveryStatus.queued)
    failed = exists().where(mine, d.status == DeliveryStatus.failed)
    reason = (
        select(d.last_error)
        .where(mine, d.status == DeliveryStatus.failed)
        .order_by(d.failed_at, d.id)
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(
        update(Notification)
        .where(open_, exists().where(mine), ~queued, ~failed)
        .values(sent_at=now, attempts=attempts)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Notification)
        .where(open_, ~queued, failed)
        .values(failed_at=now, attempts=attempts, last_error=reason)
        .execution_options(synchronize_session=False)
    )


async def send_pending(session: AsyncSession, limit: int = 500) -> int:
    """The worker's step: dispatch, then each sink's due deliveries. Returns how many
    deliveries were sent (over all sinks)."""
    await dispatch(session, limit)
    sent, touched = 0, set[uuid.UUID]()
    for sink in sink_registry.active():
        done, notes = await deliver(session, sink, limit)
        sent += done
        touched |= notes
    await settle(session, touched)
    return sent


async def list_failed(session: AsyncSession, limit: int = 100) -> Sequence[NotificationDelivery]:
    """The deliveries' exceptions queue, newest first (its notification loaded alongside)."""
    return (
        await session.scalars(
            select(NotificationDelivery)
            .where(NotificationDelivery.status == DeliveryStatus.failed)
            .order_by(NotificationDelivery.failed_at.desc())
            .limit(limit)
        )
    ).all()
