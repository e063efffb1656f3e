"""持卡买单 pages for the member's phone: scan the store's QR, enter the bill, see the
discounted amount (computed here), pay at the channel, come back to the outcome."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from redcard.deps import Ctx, Session
from redcard.errors import AppError
from redcard.kit.ids import new_token
from redcard.models import RedemptionStatus, Role, Store, User
from redcard.storepay import repository as repo
from redcard.storepay import service
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]


class PayLink(BaseModel):
    pay_url: str


async def _page(
    request: Request,
    session: Session,
    member: User,
    pay_code: str,
    bill_text: str | None,
    excluded_text: str | None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    store: Store | None = await repo.get_store_by_pay_code(session, pay_code)
    quote, can_pay = None, False
    try:
        store = await service.open_store(session, pay_code)
        await service.usable_card(session, member)
        can_pay = True
        if bill_text and error is None:
            bill_fen = service.parse_bill(bill_text)
            quote = service.price(store, bill_fen, service.parse_excluded(excluded_text))
    except AppError as exc:
        error, status_code = exc.message, exc.status_code
    return render(
        request,
        "storepay/pay.html",
        status_code=status_code,
        store=store,
        pay_code=pay_code,
        bill=bill_text or "",
        excluded=excluded_text or "",
        quote=quote,
        can_pay=can_pay,
        error=error,
        idempotency_key=new_token(16),
    )


@router.get("/pay/{pay_code}", response_class=HTMLResponse)
async def pay_page(
    pay_code: str, request: Request, session: Session, member: MemberPage
) -> Response:
    """Where the store's printed QR leads. With ?bill=… it shows the server's preview."""
    query = request.query_params
    return await _page(request, session, member, pay_code, query.get("bill"), query.get("excluded"))


@router.post("/pay/{pay_code}")
async def pay_submit(
    pay_code: str, request: Request, session: Session, ctx: Ctx, member: MemberPage
) -> Response:
    form = await check_csrf(request)
    bill_text = str(form.get("bill", ""))
    excluded_text = str(form.get("excluded", ""))
    try:
        bill_fen = service.parse_bill(bill_text)
        excluded_fen = service.parse_excluded(excluded_text)

        async def action() -> PayLink:
            bill = await service.create_bill(
                session,
                ctx.channels,
                member,
                pay_code,
                bill_fen,
                excluded_fen,
                base_url=ctx.settings.base_url,
            )
            assert bill.payment.pay_url is not None
            return PayLink(pay_url=bill.payment.pay_url)

        outcome = await submit_once(
            session, member, form, f"storepay:{pay_code}:{bill_fen}:{excluded_fen}", action
        )
    except AppError as exc:
        return await _page(
            request,
            session,
            member,
            pay_code,
            bill_text,
            excluded_text,
            exc.message,
            exc.status_code,
        )
    return redirect(outcome.body["pay_url"])


@router.get("/pay/bills/{order_id}", response_class=HTMLResponse)
async def bill_page(
    order_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, member: MemberPage
) -> Response:
    """Where the cashier sends the member back: ask the channel, then show the outcome."""
    outcome = await service.member_bill_outcome(session, ctx.channels, member, order_id)
    return render(
        request,
        "storepay/bill.html",
        bill=outcome.bill,
        store=outcome.store,
        saved_fen=outcome.saved_fen,
        pending=outcome.bill.status == RedemptionStatus.prepared,
    )
