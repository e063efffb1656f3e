"""The operator's outbox page: queued, sent and failed messages per sink, the oldest queued
message's age, the latest failures with their reasons, and the same as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.delivery import outbox
from redcard.delivery.setup import default_sinks
from redcard.deps import Session, get_ctx
from redcard.http.responses import csv_response
from redcard.kit.time import business_day, utc_now
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.render import render

router = APIRouter(prefix="/operator/outbox", include_in_schema=False)
OperatorPage = Annotated[User, require(Role.operator)]


def age_words(seconds: float) -> str:
    """How long the oldest message has waited, as a person reads it: 45 s, 12 min, 3 h, 2 d."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


@router.get("", response_class=HTMLResponse)
async def outbox_page(request: Request, session: Session, _: OperatorPage) -> Response:
    async with get_ctx(request).db.report_scope(session) as reports:
        sinks = await outbox.counts(reports)
        failures = await outbox.recent_failures(reports)
    settings = get_ctx(request).settings
    return render(
        request,
        "operator/outbox.html",
        sinks=sinks,
        failures=failures,
        configured=[s.name for s in default_sinks(settings)],  # what the workers run
        undispatched=outbox.UNDISPATCHED,
        age_words=age_words,
    )


@router.get("/csv")
async def outbox_csv(request: Request, session: Session, _: OperatorPage) -> Response:
    async with get_ctx(request).db.report_scope(session) as reports:
        body = outbox.csv_text(await outbox.counts(reports), await outbox.recent_failures(reports))
    return csv_response(f"outbox-{business_day(utc_now()).isoformat()}.csv", body)
