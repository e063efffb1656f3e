"""The companion card's pages: in "my card" the holder invites one household companion by
phone, sees the invitation or the companion, and removes them; the invitee accepts (or
declines) here, from 我的 or the invitation message, after signing up if they are new."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.companions import service
from redcard.companions.schemas import CompanionState, CompanionView, SharedCard
from redcard.deps import Session
from redcard.errors import AppError
from redcard.kit.ids import new_token
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(prefix="/card/companion", include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]


async def card_block(session: Session, member: User) -> CompanionState:
    """What the card page shows about the companion card (the block and a shared card)."""
    return await service.state(session, member)


async def _page(
    request: Request, session: Session, member: User, status_code: int = 200, **extra: object
) -> Response:
    return render(
        request,
        "companion/page.html",
        status_code=status_code,
        state=await service.state(session, member),
        idempotency_key=new_token(16),
        **extra,
    )


@router.get("", response_class=HTMLResponse)
async def companion_page(request: Request, session: Session, member: MemberPage) -> Response:
    return await _page(request, session, member)


@router.post("/invite")
async def invite_submit(request: Request, session: Session, member: MemberPage) -> Response:
    form = await check_csrf(request)
    phone = str(form.get("phone", ""))[:20]

    async def action() -> CompanionView:
        return await service.invite(session, member, phone)

    try:
        await submit_once(session, member, form, f"companion-invite:{phone}", action)
    except AppError as exc:
        return await _page(
            request, session, member, exc.status_code, error=exc.message, phone=phone
        )
    return redirect("/card/companion?done=invited")


@router.post("/remove")
async def remove_submit(request: Request, session: Session, member: MemberPage) -> Response:
    form = await check_csrf(request)

    async def action() -> CompanionView:
        return await service.remove(session, member)

    try:
        await submit_once(session, member, form, "companion-remove", action)
    except AppError as exc:
        return await _page(request, session, member, exc.status_code, error=exc.message)
    return redirect("/card/companion?done=removed")


@router.post("/invitations/{invitation_id}/accept")
async def accept_submit(
    invitation_id: uuid.UUID, request: Request, session: Session, member: MemberPage
) -> Response:
    form = await check_csrf(request)

    async def action() -> SharedCard:
        return await service.accept(session, member, invitation_id)

    try:
        await submit_once(session, member, form, f"companion-accept:{invitation_id}", action)
    except AppError as exc:
        return await _page(request, session, member, exc.status_code, error=exc.message)
    return redirect("/card")  # where their member code now is


@router.post("/invitations/{invitation_id}/decline")
async def decline_submit(
    invitation_id: uuid.UUID, request: Request, session: Session, member: MemberPage
) -> Response:
    form = await check_csrf(request)

    async def action() -> CompanionState:
        await service.decline(session, member, invitation_id)
        return await service.state(session, member)

    try:
        await submit_once(session, member, form, f"companion-decline:{invitation_id}", action)
    except AppError as exc:
        return await _page(request, session, member, exc.status_code, error=exc.message)
    return redirect("/card/companion?done=declined")
