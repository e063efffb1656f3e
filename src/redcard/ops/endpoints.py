"""/healthz, /readyz and /metrics: for the load balancer, the orchestrator and Prometheus.

- `/healthz`: the process is up and serving (no database call).
- `/readyz`: the database answers and its schema is at the migrations' head. A replica that is
  down or lagging is reported, but does not fail readiness: reports fall back to the primary.
- `/metrics`: Prometheus exposition (see `ops/metrics.py`).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.delivery import outbox
from redcard.deps import Public
from redcard.kit.time import as_utc, utc_now
from redcard.migrate import alembic_config
from redcard.models import Payment, PaymentStatus, Refund, RefundStatus
from redcard.ops import metrics

router = APIRouter(include_in_schema=False, dependencies=[Public])


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))


def migration_heads() -> frozenset[str]:
    return frozenset(_scripts().get_heads())


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # alembic raises for a revision it has no script for
        return False


async def _schema_revisions(session: AsyncSession) -> frozenset[str]:
    rows = await session.execute(text("SELECT version_num FROM alembic_version"))
    return frozenset(str(r[0]) for r in rows)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    db = request.app.state.ctx.db
    body: dict[str, Any] = {"status": "ready"}
    ready = True
    try:
        async with db.sessionmaker() as session:
            current = await _schema_revisions(session)
        heads = migration_heads()
        body["database"] = "ok"
        if current == heads:
            body["migrations"] = "current"
        else:
            # behind: this code needs a migration that has not run. Ahead: a release's
            # migration ran before this (older) process was replaced, which the expand-then-
            # contract rule makes safe, so the process stays ready.
            ahead = not all(_known(r) for r in current)
            ready = ahead
            body["migrations"] = {
                "status": "database ahead of this code" if ahead else "pending",
                "database": sorted(current),
                "code": sorted(heads),
            }
    except Exception as exc:  # any failure to answer is "not ready", with its kind
        ready = False
        body["database"] = f"unavailable: {type(exc).__name__}"
    replica = await db.replica_status()
    if replica.configured:
        body["replica"] = {
            "usable": replica.usable,
            "lag_seconds": replica.lag_seconds,
            "error": replica.error,
        }
    if not ready:
        body["status"] = "not ready"
    return JSONResponse(body, status_code=200 if ready else 503)


def _age(now: datetime, oldest: datetime | None) -> float:
    return max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest is not None else 0.0


async def database_gauges(session: AsyncSession) -> metrics.Gauges:
    """Queue depth and the age of the oldest due row per queue, refunds by status and the
    outbox backlog, read once per scrape."""
    now = utc_now()
    gauges = metrics.Gauges()
    depth: list[tuple[str, float]] = []
    oldest: list[tuple[str, float]] = []

    due_refunds = Refund.status.in_([RefundStatus.pending, RefundStatus.processing]) & (
        Refund.next_attempt_at <= now
    )
    count, first = (
        await session.execute(
            select(func.count(), func.min(Refund.next_attempt_at)).where(due_refunds)
        )
    ).one()
    depth.append(("refunds", count))
    oldest.append(("refunds", _age(now, first)))

    # the outbox per sink (redcard.delivery.outbox): "(dispatch)" is what no sink has yet
    sinks = await outbox.counts(session)
    depth.append(("notifications", sum(s.queued for s in sinks)))
    oldest.append(("notifications", max(s.oldest_queued_seconds for s in sinks)))
    gauges.add(
        "redcard_outbox_backlog",
        "Notifications queued per sink (due or waiting to retry); (dispatch): not yet split",
        "sink",
        [(s.sink, s.queued) for s in sinks],
    )
    gauges.add(
        "redcard_outbox_sent",
        "Notifications delivered per sink",
        "sink",
        [(s.sink, s.sent) for s in sinks],
    )
    gauges.add(
        "redcard_outbox_failed",
        "Notifications a sink refused for good",
        "sink",
        [(s.sink, s.failed) for s in sinks],
    )
    gauges.add(
        "redcard_outbox_oldest_queued_seconds",
        "How long the oldest queued notification of each sink has waited",
        "sink",
        [(s.sink, s.oldest_queued_seconds) for s in sinks],
    )
    failed_notes = sum(s.failed for s in sinks)

    pending = Payment.status == PaymentStatus.pending
    count, first = (
        await session.execute(select(func.count(), func.min(Payment.created_at)).where(pending))
    ).one()
    depth.append(("payments", count))
    oldest.append(("payments", _age(now, first)))

    gauges.add("redcard_queue_depth", "Rows due for a worker step", "queue", depth)
    gauges.add(
        "redcard_queue_oldest_age_seconds",
        "How long the oldest due row of each queue has waited",
        "queue",
        oldest,
    )
    by_status = await session.execute(select(Refund.status, func.count()).group_by(Refund.status))
    counts = {str(s): n for s, n in by_status}
    gauges.add(
        "redcard_refunds_by_status",
        "Refunds in each status",
        "status",
        [(s.value, counts.get(s.value, 0)) for s in RefundStatus],
    )
    gauges.add(
        "redcard_exceptions",
        "Rows moved to a queue's exceptions for a person to look at",
        "queue",
        [
            ("refunds", counts.get(RefundStatus.failed.value, 0)),
            ("notifications", failed_notes or 0),
        ],
    )
    return gauges


@router.get("/metrics")
async def metrics_endpoint(request: Request) -> Response:
    db = request.app.state.ctx.db
    gauges: metrics.Gauges | None
    try:
        async with db.report_scope() as session:
            gauges = await database_gauges(session)
    except Exception:  # the process's own counters are still worth scraping
        gauges = None
    return Response(metrics.render(gauges), media_type=metrics.CONTENT_TYPE)
