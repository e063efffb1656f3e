"""Member pages for data rights: 下载我的数据 (the zip) and 注销账户 (what closing does, the
refund first, then the password to confirm)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.datarights import closure, export
from redcard.datarights.endpoints import zip_response
from redcard.datarights.schemas import AccountClosed
from redcard.deps import SESSION_COOKIE, Session
from redcard.errors import AppError
from redcard.kit.ids import new_token
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, render

router = APIRouter(prefix="/me", include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]


@router.get("/export")
async def download(session: Session, user: MemberPage) -> Response:
    return zip_response(await export.export_zip(session, user))


async def _page(
    request: Request, session: Session, user: User, status_code: int = 200, **extra: object
) -> Response:
    return render(
        request,
        "member/close.html",
        status_code=status_code,
        preview=await closure.preview(session, user),
        idempotency_key=new_token(16),
        **extra,
    )


@router.get("/close", response_class=HTMLResponse)
async def close_page(request: Request, session: Session, user: MemberPage) -> Response:
    return await _page(request, session, user)


@router.post("/close")
async def close_submit(request: Request, session: Session, user: MemberPage) -> Response:
    """Confirmed with the password; the hidden key makes a double submit close once."""
    form = await check_csrf(request)

    async def action() -> AccountClosed:
        closed = await closure.close_account(session, user, str(form.get("password", "")))
        return AccountClosed.model_validate(closed)

    try:
        outcome = await submit_once(session, user, form, "close-account", action)
    except AppError as exc:
        return await _page(request, session, user, exc.status_code, error=exc.message)
    request.state.user = None  # the page after is a visitor's
    refund = outcome.body.get("refund")
    response = render(request, "member/closed.html", refund_fen=refund and refund["amount_fen"])
    response.delete_cookie(SESSION_COOKIE)
    return response
