"""Till API (prepare / commit / undo) and the member's code."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import bindparam, select

from redcard.deps import Ctx, Member, Session, get_ctx
from redcard.http.idempotency import run_idempotent
from redcard.models import UNDO_WINDOW
from redcard.redemption import member as member_service
from redcard.redemption import service
from redcard.redemption.codes import code_key
from redcard.redemption.schemas import (
    MemberCodeOut,
    MemberRedemption,
    Redemption,
    RedemptionPrepare,
)
from redcard.redemption.till import TillCaller

router = APIRouter(tags=["redemption"])


def to_schema(
    r: service.Redemption | service.RedemptionRow, store_name: str, masked: str
) -> Redemption:
    return Redemption(
        id=r.id,
        kind=r.kind,
        status=r.status,
        store_id=r.store_id,
        store_name=store_name,
        member=masked,
        bill_fen=r.bill_fen,
        excluded_fen=r.excluded_fen,
        discount_fen=r.discount_fen,
        charged_fen=r.charged_fen,
        prepared_at=r.prepared_at,
        committed_at=r.committed_at,
        undone_at=r.undone_at,
        undo_until=(r.committed_at + UNDO_WINDOW) if r.committed_at else None,
        settled=r.statement_id is not None,
    )


_DESCRIBE = select(
    select(service.Store.name).where(service.Store.id == bindparam("store_id")).scalar_subquery(),
    service.User.display_name,
    service.User.phone,
).where(service.User.id == bindparam("member_id"))


async def _describe(session: Session, r: service.Redemption) -> Redemption:
    conn = await session.connection()
    params = {"store_id": r.store_id, "member_id": r.member_id}
    store_name, display_name, phone = (await conn.execute(_DESCRIBE, params)).one()
    return to_schema(r, store_name, service.masked(display_name, phone))


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
    except service.InvalidCode as exc:
        # returned, not raised: the recorded failure must commit with this request
        return JSONResponse({"error": exc.name, "detail": exc.message}, exc.status_code)
    out = to_schema(prepared.redemption, prepared.store_name, prepared.member)
    return out.model_copy(update={"discount_bp": prepared.discount_bp})


@router.post("/redemptions/{redemption_id}/commit", response_model=Redemption)
async def commit(
    redemption_id: uuid.UUID, request: Request, session: Session, till: TillCaller
) -> JSONResponse:
    """Burn the code and record the redemption (Idempotency-Key required). The commit is
    conditional (a committed redemption refuses before writing), so the key and the response
    are written in one insert after it."""

    async def action() -> Redemption:
        done = await service.commit(session, till, redemption_id)
        return to_schema(done.redemption, done.store_name, done.member)

    return await run_idempotent(session, request, till.key, action, conditional=True)


@router.post("/redemptions/{redemption_id}/undo", response_model=Redemption)
async def undo(
    redemption_id: uuid.UUID, request: Request, session: Session, till: TillCaller
) -> JSONResponse:
    """Undo a committed redemption within 1 hour and before settlement (Idempotency-Key)."""

    async def action() -> Redemption:
        return await _describe(session, await service.undo(session, till, redemption_id))

    return await run_idempotent(session, request, till.key, action)


@router.get("/redemptions/{redemption_id}", response_model=Redemption)
async def get_redemption(
    redemption_id: uuid.UUID, session: Session, till: TillCaller
) -> Redemption:
    return await _describe(session, await service.get_for_till(session, till, redemption_id))


@router.get("/stores/{store_id}/redemptions", response_model=list[Redemption])
async def list_store_redemptions(
    store_id: uuid.UUID, session: Session, till: TillCaller
) -> list[Redemption]:
    """Recent committed and undone redemptions at one of your stores."""
    store, rows = await service.list_for_store(session, till, store_id)
    return [to_schema(r, store.name, user.masked_name) for r, user in rows]


@router.get("/me/code", response_model=MemberCodeOut)
async def my_code(session: Session, ctx: Ctx, member: Member) -> MemberCodeOut:
    """The member's current code (digits and QR), savings so far and the latest use."""
    return await member_service.current_code(
        session, member, code_key(ctx.settings.secret_key), recent=timedelta(minutes=10)
    )


@router.get("/me/redemptions", response_model=list[MemberRedemption])
async def my_redemptions(session: Session, member: Member) -> list[MemberRedemption]:
    return [
        member_service.member_view(r, name)
        for r, name in await service.list_for_member(session, member.id)
    ]
