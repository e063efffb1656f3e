"""Merchant pages for settlement: the statements of the merchants whose stores the user may
act on, one statement with its lines, and its CSV."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.deps import Session
from redcard.http.responses import csv_response
from redcard.models import Role, User
from redcard.settlement import service as settlement
from redcard.web.common import require
from redcard.web.render import render

router = APIRouter(include_in_schema=False)
StaffPage = Annotated[User, require(Role.merchant_staff)]


@router.get("/merchant/statements", response_class=HTMLResponse)
async def statements_page(request: Request, session: Session, user: StaffPage) -> Response:
    listed = await settlement.statement_list(session, user)
    return render(
        request, "settlement/statements.html", statements=listed.statements, names=listed.names
    )


@router.get("/merchant/statements/{statement_id}", response_class=HTMLResponse)
async def statement_page(
    statement_id: uuid.UUID, request: Request, session: Session, user: StaffPage
) -> Response:
    page = await settlement.statement_page(session, user, statement_id)
    return render(
        request,
        "settlement/statement.html",
        statement=page.statement,
        merchant=page.merchant,
        lines=page.lines,
        backed=page.backed,
        till_count=page.till_count,
        till_discount_fen=page.till_discount_fen,
    )


@router.get("/merchant/statements/{statement_id}/csv")
async def statement_csv(statement_id: uuid.UUID, session: Session, user: StaffPage) -> Response:
    return csv_response(*await settlement.statement_file(session, user, statement_id))
