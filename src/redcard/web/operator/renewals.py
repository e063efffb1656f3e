"""Operator page: the renewal pipeline, with its CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.deps import Session
from redcard.http.responses import csv_response
from redcard.membership import renewal_pipeline
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.render import render

router = APIRouter(prefix="/operator/renewals", include_in_schema=False)
OperatorPage = Annotated[User, require(Role.operator)]


@router.get("", response_class=HTMLResponse)
async def renewals_page(request: Request, session: Session, _: OperatorPage) -> Response:
    return render(
        request,
        "operator/renewals.html",
        pipeline=await renewal_pipeline.pipeline(session),
    )


@router.get("/csv")
async def renewals_csv(session: Session, _: OperatorPage) -> Response:
    return csv_response(*await renewal_pipeline.pipeline_csv(session))
