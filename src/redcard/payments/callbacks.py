"""A channel's notifications to us: verified on the raw body, recorded by their event id (only
the first copy acts), then handed to the payment or refund they are about."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import AppError, NotFound
from redcard.kit.sql import insert_ignore, rowcount
from redcard.kit.time import utc_now
from redcard.models import ChannelEvent
from redcard.payments import refunds
from redcard.payments.channels import Channels
from redcard.payments.port import (
    InvalidNotification,
    Notification,
    NotificationKind,
    StaleNotification,
)
from redcard.payments.service import confirm_payment


class BadSignature(AppError):
    status_code = 401


class StaleTimestamp(AppError):
    status_code = 401


async def record_event(
    session: AsyncSession, channel: str, note: Notification, raw_body: bytes
) -> bool:
    """Insert the event by its id; True only the first time it is seen."""
    result = await session.execute(
        insert_ignore(session, ChannelEvent, ["channel", "event_id"]).values(
            id=uuid.uuid4(),
            channel=channel,
            event_id=note.event_id,
            kind=note.kind.value,
            reference=note.reference,
            body=raw_body.decode("utf-8", "replace"),
            received_at=utc_now(),
        )
    )
    return rowcount(result) > 0


async def handle_notification(
    session: AsyncSession,
    channels: Channels,
    channel_name: str,
    headers: Mapping[str, str],
    raw_body: bytes,
) -> str:
    """Verify on the raw body, de-duplicate by event id, re-check amounts, then act.
    A rejection raises, so the request's transaction rolls back and nothing is kept."""
    try:
        channel = channels.get(channel_name)
    except KeyError as exc:
        raise NotFound("unknown channel") from exc
    try:
        note = channel.verify_notification(headers, raw_body)
    except StaleNotification as exc:
        raise StaleTimestamp(str(exc)) from exc
    except InvalidNotification as exc:
        raise BadSignature(str(exc)) from exc
    if not await record_event(session, channel_name, note, raw_body):
        return "duplicate"
    if note.kind == NotificationKind.payment_succeeded:
        await confirm_payment(session, note.reference, note.amount_fen, note.channel_ref)
    else:
        await refunds.apply_channel_verdict(
            session, note.reference, note.amount_fen, note.kind, note.channel_ref
        )
    return "processed"
