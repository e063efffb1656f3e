"""Operator pages for settlement: every merchant's statements by day, payout, CSV."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from redcard.deps import Session
from redcard.errors import AppError
from redcard.http.responses import csv_response
from redcard.kit.ids import new_token
from redcard.models import Role, User
from redcard.settlement import service as settlement
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(include_in_schema=False)
OperatorPage = Annotated[User, require(Role.operator)]


class PaidOut(BaseModel):
    statement_id: uuid.UUID


async def _page(
    request: Request,
    session: Session,
    operator: User,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    text = request.query_params.get("day")
    day: date | None = None
    if text:
        try:
            day = settlement.parse_day(text)
        except AppError as exc:
            error, status_code = exc.message, exc.status_code
    listed = await settlement.statement_list(session, operator, day=day, limit=200)
    return render(
        request,
        "settlement/operator.html",
        status_code=status_code,
        statements=listed.statements,
        names=listed.names,
        day=text or "",
        idempotency_key=new_token(16),
        error=error,
    )


@router.get("/operator/statements", response_class=HTMLResponse)
async def statements_page(request: Request, session: Session, operator: OperatorPage) -> Response:
    return await _page(request, session, operator)


@router.post("/operator/statements/{statement_id}/payout")
async def payout_submit(
    statement_id: uuid.UUID, request: Request, session: Session, operator: OperatorPage
) -> Response:
    form = await check_csrf(request)

    async def action() -> PaidOut:
        done = await settlement.pay_out(session, operator, statement_id)
        return PaidOut(statement_id=done.id)

    try:
        await submit_once(session, operator, form, f"payout:{statement_id}", action)
    except AppError as exc:
        return await _page(request, session, operator, exc.message, exc.status_code)
    return redirect("/operator/statements")


@router.get("/operator/statements/{statement_id}/csv")
async def statement_csv(
    statement_id: uuid.UUID, session: Session, operator: OperatorPage
) -> Response:
    return csv_response(*await settlement.statement_file(session, operator, statement_id))
