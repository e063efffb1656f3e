"""The 我的 tab: who I am (phone masked), changing my password, my orders and receipts, my
events, my refunds, language, logging out here or everywhere else, and the entry points
still to come (auto-renew, companion card, data export, closing the account)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from redcard.accounts import overview
from redcard.accounts import service as accounts
from redcard.deps import Session, bearer_or_cookie
from redcard.errors import AppError, InvalidInput
from redcard.events import repository as events
from redcard.kit.ids import new_token
from redcard.membership import refunds
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(prefix="/me", include_in_schema=False)
# every role has a 我的: staff change their password here too; the lists are a member's
AnyoneLoggedIn = Annotated[User, require(Role.member, Role.merchant_staff, Role.operator)]


class Changed(BaseModel):
    ended: int


def masked_phone(phone: str) -> str:
    """139****0000: enough for its owner to recognise, not enough to call."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


async def _page(
    request: Request, session: Session, user: User, status_code: int = 200, **extra: object
) -> Response:
    member = user.role == Role.member
    registrations = await events.list_by_member(session, user.id) if member else []
    return render(
        request,
        "member/me.html",
        status_code=status_code,
        phone=masked_phone(user.phone),
        orders=await overview.recent_orders(session, user.id) if member else [],
        registrations=list(reversed(registrations)),  # the latest event first
        refund_count=len(await refunds.member_refunds(session, user)) if member else 0,
        idempotency_key=new_token(16),
        **extra,
    )


@router.get("", response_class=HTMLResponse)
async def me_page(request: Request, session: Session, user: AnyoneLoggedIn) -> Response:
    return await _page(request, session, user)


@router.post("/password")
async def change_password_submit(
    request: Request, session: Session, user: AnyoneLoggedIn
) -> Response:
    """The login asking stays; every other one ends (a thief's included)."""
    form = await check_csrf(request)

    async def action() -> Changed:
        if form.get("new_password") != form.get("new_password_again"):
            raise InvalidInput("the two new passwords are not the same")
        ended = await accounts.change_password(
            session,
            user,
            str(form.get("old_password", "")),
            str(form.get("new_password", "")),
            keep_token=bearer_or_cookie(request),
        )
        return Changed(ended=ended)

    try:
        await submit_once(session, user, form, "change-password", action)
    except AppError as exc:
        return await _page(
            request, session, user, exc.status_code, error=exc.message, password_open=True
        )
    return redirect("/me?done=password")


@router.post("/sessions")
async def end_other_sessions(request: Request, session: Session, user: AnyoneLoggedIn) -> Response:
    await check_csrf(request)
    await accounts.revoke_sessions(session, user.id, keep_token=bearer_or_cookie(request))
    return redirect("/me?done=sessions")
