"""Who is at the till: a terminal with its API key (header `X-Terminal-Key`) or a logged-in
merchant_staff user. Declared as a role dependency so the route audit sees it."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import bindparam, select

from redcard.deps import Session, current_user
from redcard.errors import Forbidden, Unauthorized
from redcard.kit import rawpg
from redcard.models import Role, Terminal
from redcard.redemption.service import TerminalRef, Till

TERMINAL_HEADER = "X-Terminal-Key"
_TERMINAL = select(Terminal.id, Terminal.store_id).where(
    Terminal.api_key_hash == bindparam("key_hash"), Terminal.revoked_at.is_(None)
)
_TERMINAL_PG = rawpg.Statement(_TERMINAL)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_till(request: Request, session: Session) -> Till:
    """The terminal by its key or else the logged-in staff member. The login is looked up
    here, only without a terminal key, rather than as a dependency every till call solves."""
    api_key = request.headers.get(TERMINAL_HEADER)
    if api_key:
        params = {"key_hash": hash_api_key(api_key)}
        raw = await rawpg.connection(session)
        if raw is not None:
            row = await rawpg.fetchrow(raw, _TERMINAL_PG.sql, *_TERMINAL_PG.args(params))
        else:
            row = (await (await session.connection()).execute(_TERMINAL, params)).first()
        if row is None:
            raise Unauthorized("unknown or revoked terminal key")
        return Till(ip=client_ip(request), terminal=TerminalRef(row[0], row[1]))
    user = await current_user(request, session)
    if user is None:
        raise Unauthorized("log in as store staff or send a terminal key")
    if user.role != Role.merchant_staff:
        raise Forbidden("only store staff and terminals may use the till")
    return Till(ip=client_ip(request), staff=user)


current_till.__redcard_roles__ = (Role.merchant_staff, "terminal")  # type: ignore[attr-defined]

TillCaller = Annotated[Till, Depends(current_till)]
