"""Request dependencies: the unit of work, the caller, and what every route declares it allows.

Every API route declares its roles with `allow(...)` (or `public`), in its signature, and the
authorization test walks all routes to prove none is left undeclared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.accounts.service import user_for_token
from redcard.config import Settings
from redcard.db import Database
from redcard.delivery import inbox
from redcard.errors import Forbidden, Unauthorized
from redcard.models import Role, User
from redcard.payments.channels import Channels

SESSION_COOKIE = "redcard_session"


@dataclass
class AppContext:
    settings: Settings
    db: Database
    channels: Channels


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit when the endpoint returns, roll back if it raises.
    Used with scope="function" so the commit happens before the response is sent."""
    async with get_ctx(request).db.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


Session = Annotated[AsyncSession, Depends(get_session, scope="function")]
Ctx = Annotated[AppContext, Depends(get_ctx)]


def bearer_or_cookie(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


async def current_user(request: Request, session: Session) -> User | None:
    token = bearer_or_cookie(request)
    if not token:
        return None
    user = await user_for_token(session, token)
    request.state.user = user
    if user is not None and user.role == Role.member and _is_page(request):
        # the 消息 badge on the 我的 tab of every member page (delivery, issue 16)
        request.state.unread_messages = await inbox.unread_count(session, user.id)
    return user


def _is_page(request: Request) -> bool:
    return request.method == "GET" and not request.url.path.startswith("/api/")


CurrentUser = Annotated[User | None, Depends(current_user)]


def allow(*roles: Role) -> Callable[..., Coroutine[Any, Any, User]]:
    """Dependency: the caller must be logged in with one of `roles`."""

    async def dependency(user: CurrentUser) -> User:
        if user is None:
            raise Unauthorized("log in first")
        if user.role not in roles:
            raise Forbidden("your account may not do this")
        return user

    dependency.__redcard_roles__ = roles  # type: ignore[attr-defined]
    return dependency


async def public() -> None:
    """Marks a route that anyone may call (login, sign-up, plans, channel callbacks)."""


Member = Annotated[User, Depends(allow(Role.member))]
Operator = Annotated[User, Depends(allow(Role.operator))]
Public = Depends(public)
