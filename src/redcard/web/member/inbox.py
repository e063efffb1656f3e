"""The member's 消息 (我的 → 消息): the inbox list, one message (opening it marks it read),
marking all read, and the message settings (e-mail address, marketing messages)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.delivery import inbox, preferences
from redcard.deps import Session
from redcard.errors import AppError
from redcard.kit.ids import new_token
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, locale_of, redirect, render

router = APIRouter(prefix="/me", include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]


async def _list(
    request: Request, session: Session, user: User, status_code: int = 200, **extra: object
) -> Response:
    return render(
        request,
        "member/inbox.html",
        status_code=status_code,
        messages=await inbox.messages(session, user.id, locale_of(request)),
        idempotency_key=new_token(16),
        **extra,
    )


@router.get("/messages", response_class=HTMLResponse)
async def messages_page(request: Request, session: Session, user: MemberPage) -> Response:
    return await _list(request, session, user)


@router.get("/messages/{message_id}", response_class=HTMLResponse)
async def message_page(
    message_id: uuid.UUID, request: Request, session: Session, user: MemberPage
) -> Response:
    item = await inbox.open_message(session, user.id, message_id, locale_of(request))
    request.state.unread_messages = await inbox.unread_count(session, user.id)  # the badge
    return render(request, "member/message.html", item=item)


@router.post("/messages/read")
async def mark_all_read(request: Request, session: Session, user: MemberPage) -> Response:
    await check_csrf(request)
    await inbox.mark_all_read(session, user.id)
    return redirect("/me/messages")


@router.post("/messages/settings")
async def save_settings(request: Request, session: Session, user: MemberPage) -> Response:
    form = await check_csrf(request)

    async def action() -> preferences.MessagePreferences:
        return await preferences.set_preferences(
            session, user, str(form.get("email", "")), form.get("marketing") == "yes"
        )

    try:
        await submit_once(session, user, form, "message-settings", action)
    except AppError as exc:
        return await _list(
            request, session, user, exc.status_code, error=exc.message, email=form.get("email")
        )
    return redirect("/me/messages?done=settings")
