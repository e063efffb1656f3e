"""The operator's view of the outbox: per sink, how many messages are queued, sent and
failed and how long the oldest queued one has waited; the latest failures with their
reasons; the same as CSV, and as gauges for /metrics."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.time import as_utc, local_iso, utc_now
from redcard.models import DeliveryStatus, Notification, NotificationDelivery

UNDISPATCHED = "(dispatch)"  # the row for messages not yet handed to any sink


@dataclass(frozen=True, slots=True)
class SinkCounts:
    sink: str
    queued: int
    sent: int
    failed: int
    oldest_queued_seconds: float  # 0 when nothing is queued


@dataclass(frozen=True, slots=True)
class Failure:
    failed_at: datetime | None
    sink: str
    template: str
    attempts: int
    last_error: str | None
    notification_id: uuid.UUID
    user_id: uuid.UUID


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - as_utc(since)).total_seconds()) if since is not None else 0.0


async def counts(session: AsyncSession) -> list[SinkCounts]:
    """Every sink that has deliveries, by name; first the messages still waiting for their
    dispatch (queued for every sink, not yet split)."""
    now = utc_now()
    by: dict[str, dict[str, int]] = {}
    rows = await session.execute(
        select(NotificationDelivery.sink, NotificationDelivery.status, func.count()).group_by(
            NotificationDelivery.sink, NotificationDelivery.status
        )
    )
    for sink, status, n in rows:
        by.setdefault(sink, {})[str(status)] = n
    oldest = dict(
        (
            await session.execute(
                select(NotificationDelivery.sink, func.min(NotificationDelivery.created_at))
                .where(NotificationDelivery.status == DeliveryStatus.queued)
                .group_by(NotificationDelivery.sink)
            )
        ).all()
    )
    waiting, first = (
        await session.execute(
            select(func.count(), func.min(Notification.created_at)).where(
                Notification.dispatched_at.is_(None)
            )
        )
    ).one()
    out = [SinkCounts(UNDISPATCHED, waiting, 0, 0, _age(now, first))]
    for sink in sorted(by):
        c = by[sink]
        out.append(
            SinkCounts(
                sink,
                c.get(DeliveryStatus.queued.value, 0),
                c.get(DeliveryStatus.sent.value, 0),
                c.get(DeliveryStatus.failed.value, 0),
                _age(now, oldest.get(sink)),
            )
        )
    return out


async def recent_failures(session: AsyncSession, limit: int = 50) -> Sequence[Failure]:
    """Deliveries that failed for good, newest first, with the reason."""
    rows = await session.execute(
        select(NotificationDelivery, Notification.template)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(NotificationDelivery.status == DeliveryStatus.failed)
        .order_by(NotificationDelivery.failed_at.desc(), NotificationDelivery.id)
        .limit(limit)
    )
    return [
        Failure(
            d.failed_at, d.sink, template, d.attempts, d.last_error, d.notification_id, d.user_id
        )
        for d, template in rows
    ]


def csv_text(sinks: Sequence[SinkCounts], failures: Sequence[Failure]) -> str:
    """Two tables in one file: the counts per sink, then the failures."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["sink", "queued", "sent", "failed", "oldest_queued_seconds"])
    for s in sinks:
        w.writerow([s.sink, s.queued, s.sent, s.failed, int(s.oldest_queued_seconds)])
    w.writerow([])
    w.writerow(["failed_at", "sink", "template", "attempts", "reason", "notification_id"])
    for f in failures:
        failed_at = local_iso(f.failed_at) if f.failed_at else ""
        w.writerow(
            [failed_at, f.sink, f.template, f.attempts, f.last_error or "", f.notification_id]
        )
    return buf.getvalue()
