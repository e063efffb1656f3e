"""Merchant pages for 买单 and settlement: the live list of paid bills (phone-first, refreshes
itself), undo within the window, the store's printable pay QR, and statements (+ CSV)."""

from __future__ import annotations

import uuid
from typing import Annotated

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from redcard.deps import Ctx, Session
from redcard.errors import AppError, NotFound
from redcard.kit.ids import new_token
from redcard.kit.time import utc_now
from redcard.models import (
    UNDO_WINDOW,
    Merchant,
    RedemptionStatus,
    Role,
    StatementLineKind,
    Store,
    User,
)
from redcard.settlement import repository as settlement_repo
from redcard.settlement import service as settlement
from redcard.settlement.endpoints import csv_response
from redcard.storepay import repository as repo
from redcard.storepay import service
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(include_in_schema=False)
StaffPage = Annotated[User, require(Role.merchant_staff)]
REFRESH_SECONDS = 10


class Undone(BaseModel):
    redemption_id: uuid.UUID


async def _bills_page(
    request: Request, session: Session, user: User, error: str | None = None, status: int = 200
) -> Response:
    stores = await repo.stores_for(session, user)
    rows = await repo.list_bills(session, [s.id for s in stores])
    now = utc_now()
    undoable = {
        row.redemption.id
        for row in rows
        if row.redemption.status == RedemptionStatus.committed
        and row.redemption.statement_id is None
        and row.redemption.committed_at is not None
        and now - row.redemption.committed_at <= UNDO_WINDOW
    }
    return render(
        request,
        "storepay/bills.html",
        status_code=status,
        stores=stores,
        rows=rows,
        undoable=undoable,
        refresh=REFRESH_SECONDS,
        idempotency_key=new_token(16),
        error=error,
    )


@router.get("/merchant/bills", response_class=HTMLResponse)
async def bills_page(request: Request, session: Session, user: StaffPage) -> Response:
    return await _bills_page(request, session, user)


@router.post("/merchant/bills/{redemption_id}/undo")
async def undo_submit(
    redemption_id: uuid.UUID, request: Request, session: Session, user: StaffPage
) -> Response:
    form = await check_csrf(request)

    async def action() -> Undone:
        undone = await service.undo_bill(session, user, redemption_id)
        return Undone(redemption_id=undone.id)

    try:
        await submit_once(session, user, form, f"storepay-undo:{redemption_id}", action)
    except AppError as exc:
        return await _bills_page(request, session, user, exc.message, exc.status_code)
    return redirect("/merchant/bills")


async def _my_store(session: Session, user: User, store_id: uuid.UUID) -> Store:
    if store_id not in await repo.store_ids_for(session, user):
        raise NotFound("no such store")
    return await session.get_one(Store, store_id)


def pay_url(base_url: str, store: Store) -> str:
    return f"{base_url}/pay/{store.pay_code}"


@router.get("/merchant/stores/{store_id}/qr", response_class=HTMLResponse)
async def store_qr(
    store_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, user: StaffPage
) -> Response:
    """The store's static pay QR, to print and stand at the till."""
    store = await _my_store(session, user, store_id)
    url = pay_url(ctx.settings.base_url, store)
    svg = segno.make(url, error="m").svg_inline(scale=8, border=2, title=store.name)
    return render(
        request,
        "storepay/qr.html",
        store=store,
        url=url,
        svg=svg,
        percent_off=f"{store.discount_bp / 100:g}",
    )


@router.get("/merchant/statements", response_class=HTMLResponse)
async def statements_page(request: Request, session: Session, user: StaffPage) -> Response:
    ids = await settlement_repo.merchant_ids_for(session, user)
    statements = await settlement_repo.list_statements(session, ids)
    names = {m.id: m.name for m in [await session.get_one(Merchant, i) for i in ids]}
    return render(request, "settlement/statements.html", statements=statements, names=names)


@router.get("/merchant/statements/{statement_id}", response_class=HTMLResponse)
async def statement_page(
    statement_id: uuid.UUID, request: Request, session: Session, user: StaffPage
) -> Response:
    statement = await settlement.visible_statement(session, user, statement_id)
    lines = await settlement_repo.lines_of(session, statement.id)
    figures = await settlement.ledger_figures(session, statement)
    till = [line for line, _ in lines if line.kind == StatementLineKind.code]
    till_discount_fen = sum(line.discount_fen for line in till)
    backed = (
        figures.till_discount_fen == till_discount_fen
        and figures.charged_fen == statement.charged_fen
        and figures.discount_fen == statement.discount_fen
        and figures.fees_fen == statement.fee_fen + statement.commission_fen
        and figures.clawback_fen == statement.clawback_fen
        and figures.undone_net_fen == 0
    )
    merchant = await settlement.merchant_of(session, statement)
    return render(
        request,
        "settlement/statement.html",
        statement=statement,
        merchant=merchant,
        lines=lines,
        backed=backed,
        till_count=len(till),
        till_discount_fen=till_discount_fen,
    )


@router.get("/merchant/statements/{statement_id}/csv")
async def statement_csv(statement_id: uuid.UUID, session: Session, user: StaffPage) -> Response:
    statement = await settlement.visible_statement(session, user, statement_id)
    return csv_response(
        statement.day, statement.id, await settlement.statement_csv(session, statement)
    )
