"""Till API (prepare / commit / undo) and the member's code."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from redcard.deps import Ctx, Member, Session, current_user, get_ctx
from redcard.errors import Forbidden, Unauthorized
from redcard.http.idempotency import run_idempotent
from redcard.models import UNDO_WINDOW, Role
from redcard.redemption import member as member_service
from redcard.redemption import service
from redcard.redemption.codes import code_key
from redcard.redemption.limits import InvalidCode
from redcard.redemption.schemas import (
    MemberCodeOut,
    MemberCodeUse,
    MemberRedemption,
    Redemption,
    RedemptionPrepare,
)
from redcard.redemption.till import Till, find_terminal

router = APIRouter(tags=["redemption"])
TERMINAL_HEADER = "X-Terminal-Key"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_till(request: Request, session: Session) -> Till:
    """The terminal by its key (header `X-Terminal-Key`) or else the logged-in merchant_staff
    user. The login is looked up here, only without a terminal key, rather than as a
    dependency every till call solves. Declared with its roles so the route audit sees it."""
    api_key = request.headers.get(TERMINAL_HEADER)
    if api_key:
        terminal = await find_terminal(session, api_key)
        if terminal is None:
            raise Unauthorized("unknown or revoked terminal key")
        return Till(ip=client_ip(request), terminal=terminal)
    user = await current_user(request, session)
    if user is None:
        raise Unauthorized("log in as store staff or send a terminal key")
    if user.role != Role.merchant_staff:
        raise Forbidden("only store staff and terminals may use the till")
    return Till(ip=client_ip(request), staff=user)


current_till.__redcard_roles__ = (Role.merchant_staff, "terminal")  # type: ignore[attr-defined]

TillCaller = Annotated[Till, Depends(current_till)]


def to_schema(shown: service.Shown, discount_bp: int | None = None) -> Redemption:
    r = shown.redemption
    return Redemption(
        id=r.id,
        kind=r.kind,
        status=r.status,
        store_id=r.store_id,
        store_name=shown.store_name,
        member=shown.member,
        bill_fen=r.bill_fen,
        excluded_fen=r.excluded_fen,
        discount_fen=r.discount_fen,
        charged_fen=r.charged_fen,
        discount_bp=discount_bp,
        prepared_at=r.prepared_at,
        committed_at=r.committed_at,
        undone_at=r.undone_at,
        undo_until=(r.committed_at + UNDO_WINDOW) if r.committed_at else None,
        settled=r.statement_id is not None,
    )


@router.post("/redemptions/prepare", status_code=201, response_model=Redemption)
async def prepare(
    body: RedemptionPrepare, request: Request, session: Session, till: TillCaller
) -> Redemption | JSONResponse:
    """Preview: the member's masked name, bill, discount (computed here from the store's terms)
    and the amount to charge. Burns nothing. A rejected code is counted for rate limiting.
    (The settings come from the request, not a `Ctx` dependency: one fewer to solve.)"""
    try:
        prepared = await service.prepare(
            session,
            till,
            store_id=body.store_id,
            code=body.code,
            bill_fen=body.bill_fen,
            bill_yuan=body.bill_yuan,
            excluded_fen=body.excluded_fen,
            excluded_yuan=body.excluded_yuan,
            key=code_key(get_ctx(request).settings.secret_key),
        )
    except InvalidCode as exc:
        # returned, not raised: the recorded failure must commit with this request
        return JSONResponse({"error": exc.name, "detail": exc.message}, exc.status_code)
    return to_schema(prepared, prepared.discount_bp)


@router.post("/redemptions/{redemption_id}/commit", response_model=Redemption)
async def commit(
    redemption_id: uuid.UUID, request: Request, session: Session, till: TillCaller
) -> JSONResponse:
    """Burn the code and record the redemption (Idempotency-Key required). The commit is
    conditional (a committed redemption refuses before writing), so the key and the response
    are written in one insert after it."""

    async def action() -> Redemption:
        return to_schema(await service.commit(session, till, redemption_id))

    return await run_idempotent(session, request, till.key, action, conditional=True)


@router.post("/redemptions/{redemption_id}/undo", response_model=Redemption)
async def undo(
    redemption_id: uuid.UUID, request: Request, session: Session, till: TillCaller
) -> JSONResponse:
    """Undo a committed redemption within 1 hour and before settlement (Idempotency-Key)."""

    async def action() -> Redemption:
        return to_schema(await service.undo(session, till, redemption_id))

    return await run_idempotent(session, request, till.key, action)


@router.get("/redemptions/{redemption_id}", response_model=Redemption)
async def get_redemption(
    redemption_id: uuid.UUID, session: Session, till: TillCaller
) -> Redemption:
    return to_schema(await service.get_for_till(session, till, redemption_id))


@router.get("/stores/{store_id}/redemptions", response_model=list[Redemption])
async def list_store_redemptions(
    store_id: uuid.UUID, session: Session, till: TillCaller
) -> list[Redemption]:
    """Recent committed and undone redemptions at one of your stores."""
    return [to_schema(s) for s in await service.list_for_store(session, till, store_id)]


@router.get("/me/code", response_model=MemberCodeOut)
async def my_code(session: Session, ctx: Ctx, member: Member) -> MemberCodeOut:
    """The member's current code (digits and QR), savings so far and the latest use."""
    return await member_service.current_code(
        session, member, code_key(ctx.settings.secret_key), recent=timedelta(minutes=10)
    )


@router.get("/me/code/used", response_model=MemberCodeUse)
async def my_code_used(
    step: Annotated[int, Query(ge=0, le=2**40)], session: Session, member: Member
) -> MemberCodeUse:
    """Whether the code of this step (`step` from /me/code) was used at a till."""
    return await member_service.code_use(session, member, step)


@router.get("/me/redemptions", response_model=list[MemberRedemption])
async def my_redemptions(session: Session, member: Member) -> list[MemberRedemption]:
    return await member_service.my_redemptions(session, member)
