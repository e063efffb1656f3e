"""Merchant pages for 买单: the live list of paid bills (phone-first, refreshes itself), undo
within the window, and the store's printable pay QR."""

from __future__ import annotations

import uuid
from typing import Annotated

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from redcard.deps import Ctx, Session
from redcard.errors import AppError
from redcard.kit.ids import new_token
from redcard.models import Role, Store, User
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
    bills = await service.store_bills(session, user)
    return render(
        request,
        "storepay/bills.html",
        status_code=status,
        stores=bills.stores,
        rows=bills.rows,
        undoable=bills.undoable,
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


def pay_url(base_url: str, store: Store) -> str:
    return f"{base_url}/pay/{store.pay_code}"


@router.get("/merchant/stores/{store_id}/qr", response_class=HTMLResponse)
async def store_qr(
    store_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, user: StaffPage
) -> Response:
    """The store's static pay QR, to print and stand at the till."""
    store = await service.store_for(session, user, store_id)
    url = pay_url(ctx.settings.base_url, store)
    svg = segno.make(url, error="m").svg_inline(scale=8, border=2, title=store.name)
    return render(
        request,
        "storepay/qr.html",
        store=store,
        url=url,
        svg=svg,
    )
