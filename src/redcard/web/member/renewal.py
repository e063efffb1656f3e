"""Member pages: auto-renew. The notice (price, next charge date, how to turn it off) and the
consent come first; then the member signs the payment mandate on the channel's page, comes
back, and sees the status, the next charge date and the button that turns it off."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from redcard.deps import Ctx, Session
from redcard.errors import AppError
from redcard.kit.ids import new_token
from redcard.membership import renewal
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(prefix="/card/auto-renew", include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]


class _Done(BaseModel):
    next_url: str


async def _page(
    request: Request,
    session: Session,
    ctx: Ctx,
    user: User,
    status_code: int = 200,
    **extra: object,
) -> Response:
    view = await renewal.view(session, user, ctx.settings.renewal_notice_days)
    return render(
        request,
        "member/auto_renew.html",
        status_code=status_code,
        view=view,
        notice_days=ctx.settings.renewal_notice_days,
        idempotency_key=new_token(),
        **extra,
    )


@router.get("", response_class=HTMLResponse)
async def page(request: Request, session: Session, ctx: Ctx, user: MemberPage) -> Response:
    return await _page(request, session, ctx, user)


@router.post("")
async def turn_on(request: Request, session: Session, ctx: Ctx, user: MemberPage) -> Response:
    """Consent given after the notice: off to the channel to sign the mandate."""
    form = await check_csrf(request)

    async def action() -> _Done:
        mandate = await renewal.turn_on(
            session,
            ctx.channels,
            user,
            consent=form.get("consent") == "yes",
            base_url=ctx.settings.base_url,
        )
        signed = mandate.status.value == "active"
        return _Done(next_url="/card/auto-renew" if signed else (mandate.sign_url or ""))

    try:
        outcome = await submit_once(session, user, form, "auto-renew-on", action)
    except AppError as exc:
        return await _page(request, session, ctx, user, exc.status_code, error=exc.message)
    return redirect(str(outcome.body.get("next_url") or "/card/auto-renew"))


@router.get("/signed/{mandate_no}")
async def signed(
    mandate_no: str, request: Request, session: Session, ctx: Ctx, user: MemberPage
) -> Response:
    """Back from the channel's signing page."""
    try:
        await renewal.confirm(session, ctx.channels, user, mandate_no)
    except AppError as exc:
        return await _page(request, session, ctx, user, exc.status_code, error=exc.message)
    return redirect("/card/auto-renew")


@router.post("/off")
async def turn_off(request: Request, session: Session, ctx: Ctx, user: MemberPage) -> Response:
    form = await check_csrf(request)

    async def action() -> _Done:
        await renewal.turn_off(session, ctx.channels, user)
        return _Done(next_url="/card/auto-renew")

    try:
        await submit_once(session, user, form, "auto-renew-off", action)
    except AppError as exc:
        return await _page(request, session, ctx, user, exc.status_code, error=exc.message)
    return redirect("/card/auto-renew")
