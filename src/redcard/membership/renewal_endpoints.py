"""Auto-renew API: the notice and status, turning it on (signing a mandate), confirming the
signature, turning it off. The state-changing calls take an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from redcard.deps import Ctx, Member, Session
from redcard.http.idempotency import run_idempotent
from redcard.membership import renewal

router = APIRouter(prefix="/memberships/current/auto-renew", tags=["membership"])


class AutoRenewStatus(BaseModel):
    on: bool
    renewable: bool
    price_fen: int
    next_charge_at: datetime | None
    card_ends_at: datetime | None
    mandate_no: str | None
    mandate_status: str | None
    sign_url: str | None
    renewal_status: str | None


class AutoRenewOn(BaseModel):
    consent: bool  # the member read the notice (price, next charge date, how to turn it off)


class MandateSigned(BaseModel):
    mandate_no: str


def _status(view: renewal.AutoRenew) -> AutoRenewStatus:
    return AutoRenewStatus(
        on=view.on,
        renewable=view.renewable,
        price_fen=view.price_fen,
        next_charge_at=view.next_charge_at if view.card else None,
        card_ends_at=view.card.ends_at if view.card else None,
        mandate_no=view.mandate.mandate_no if view.mandate else None,
        mandate_status=view.mandate.status.value if view.mandate else None,
        sign_url=view.mandate.sign_url if view.mandate else None,
        renewal_status=view.renewal.status.value if view.renewal else None,
    )


@router.get("", response_model=AutoRenewStatus)
async def status(session: Session, ctx: Ctx, member: Member) -> AutoRenewStatus:
    """Whether the card renews by itself, when and for how much."""
    return _status(await renewal.view(session, member, ctx.settings.renewal_notice_days))


@router.post("", response_model=AutoRenewStatus)
async def turn_on(
    body: AutoRenewOn, request: Request, session: Session, ctx: Ctx, member: Member
) -> JSONResponse:
    """With consent after the notice: a mandate to sign at the channel (`sign_url`)."""

    async def action() -> AutoRenewStatus:
        await renewal.turn_on(
            session,
            ctx.channels,
            member,
            consent=body.consent,
            base_url=ctx.settings.base_url,
        )
        return _status(await renewal.view(session, member, ctx.settings.renewal_notice_days))

    return await run_idempotent(session, request, f"user:{member.id}", action)


@router.post("/signed", response_model=AutoRenewStatus)
async def signed(
    body: MandateSigned, request: Request, session: Session, ctx: Ctx, member: Member
) -> JSONResponse:
    """Back from the channel's signing page: auto-renew is on once the channel says signed."""

    async def action() -> AutoRenewStatus:
        await renewal.confirm(session, ctx.channels, member, body.mandate_no)
        return _status(await renewal.view(session, member, ctx.settings.renewal_notice_days))

    return await run_idempotent(session, request, f"user:{member.id}", action)


@router.post("/off", response_model=AutoRenewStatus)
async def turn_off(request: Request, session: Session, ctx: Ctx, member: Member) -> JSONResponse:
    """Off at once; the mandate is revoked."""

    async def action() -> AutoRenewStatus:
        await renewal.turn_off(session, ctx.channels, member)
        return _status(await renewal.view(session, member, ctx.settings.renewal_notice_days))

    return await run_idempotent(session, request, f"user:{member.id}", action)
