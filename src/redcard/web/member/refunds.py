"""Member pages: my refunds (amount, status, timeline) and giving the card back within the
cooling-off period, with a preview of the amount before confirming."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.deps import Session
from redcard.errors import AppError
from redcard.membership import refunds
from redcard.membership.schemas import RefundRef
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(prefix="/card/refunds", include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]


async def _page(
    request: Request, session: Session, user: User, status_code: int = 200, **extra: object
) -> Response:
    mine = await refunds.member_refunds(session, user)
    try:
        quote = (await refunds.quote_self_refund(session, user)).quote
    except AppError:
        quote = None
    return render(
        request,
        "sunset/refunds.html",
        status_code=status_code,
        refunds=mine,
        quote=quote,
        idempotency_key=f"refund-{user.id.hex}-{len(mine)}",
        **extra,
    )


@router.get("", response_class=HTMLResponse)
async def my_refunds(request: Request, session: Session, user: MemberPage) -> Response:
    return await _page(request, session, user)


@router.post("")
async def give_back(request: Request, session: Session, user: MemberPage) -> Response:
    """Confirmed after the preview: the hidden key makes a double submit refund once."""
    form = await check_csrf(request)
    if form.get("confirm") != "yes":
        return await _page(request, session, user, 422, error="Tick the box to confirm.")

    async def action() -> RefundRef:
        refund = await refunds.request_self_refund(session, user)
        return RefundRef.model_validate(refund)

    try:
        await submit_once(session, user, form, "self-refund", action)
    except AppError as exc:
        return await _page(request, session, user, exc.status_code, error=exc.message)
    return redirect("/card/refunds")
