"""The operator's renewal pipeline: how many renewals are at each stage (notice sent, due in
the next 7 days, charged, failing, lapsed, not renewed, mandates revoked), the renewals
themselves, and the same as a CSV file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.time import local_iso, utc_now
from redcard.membership.renewal import OPEN
from redcard.models import MandateState, PaymentMandate, Renewal, RenewalStatus, User


@dataclass(frozen=True)
class Pipeline:
    noticed: int
    due_7d: int
    renewed: int
    failing: int
    lapsed: int
    cancelled: int
    mandates_revoked: int
    rows: list[tuple[Renewal, User]]


async def pipeline(session: AsyncSession, limit: int = 200) -> Pipeline:
    now = utc_now()
    by_status = dict(
        (status, n)
        for status, n in await session.execute(
            select(Renewal.status, func.count()).group_by(Renewal.status)
        )
    )
    due = await session.scalar(
        select(func.count()).where(
            Renewal.status.in_(OPEN), Renewal.due_at <= now + timedelta(days=7)
        )
    )
    revoked = await session.scalar(
        select(func.count()).where(PaymentMandate.status == MandateState.revoked)
    )
    rows = [
        (r, u)
        for r, u in await session.execute(
            select(Renewal, User)
            .join(User, User.id == Renewal.member_id)
            .order_by(Renewal.due_at.desc(), Renewal.id)
            .limit(limit)
        )
    ]
    return Pipeline(
        noticed=by_status.get(RenewalStatus.noticed, 0),
        due_7d=int(due or 0),
        renewed=by_status.get(RenewalStatus.renewed, 0),
        failing=by_status.get(RenewalStatus.retrying, 0),
        lapsed=by_status.get(RenewalStatus.lapsed, 0),
        cancelled=by_status.get(RenewalStatus.cancelled, 0),
        mandates_revoked=int(revoked or 0),
        rows=rows,
    )


HEADER = [
    "renewal_id",
    "member",
    "phone",
    "status",
    "period_starts_at",
    "price_fen",
    "due_at",
    "attempts",
    "charge_no",
    "reason",
    "finished_at",
]


async def pipeline_csv(session: AsyncSession) -> tuple[str, str]:
    """Every renewal, one line each (streamed from the database in batches)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    result = await session.stream(
        select(Renewal, User.display_name, User.phone)
        .join(User, User.id == Renewal.member_id)
        .order_by(Renewal.due_at, Renewal.id)
    )
    async for renewal, name, phone in result:
        writer.writerow(
            [
                renewal.id,
                name,
                phone,
                renewal.status.value,
                local_iso(renewal.period_starts_at),
                renewal.price_fen,
                local_iso(renewal.due_at),
                renewal.attempts,
                renewal.charge_no,
                renewal.reason or "",
                local_iso(renewal.finished_at) if renewal.finished_at else "",
            ]
        )
    return f"renewals-{utc_now():%Y%m%d}.csv", out.getvalue()
