"""The companion card's API: the primary invites and removes, the invitee accepts or
declines. Every change takes an Idempotency-Key."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from redcard.companions import service
from redcard.companions.schemas import CompanionInvite, CompanionState, CompanionView, SharedCard
from redcard.deps import Member, Session
from redcard.http.idempotency import run_idempotent

router = APIRouter(prefix="/me/companion", tags=["companion card"])


@router.get("", response_model=CompanionState)
async def my_companion(session: Session, member: Member) -> CompanionState:
    """Your companion (as the card's holder), the invitations waiting for your phone number,
    and the card you use as someone's companion."""
    return await service.state(session, member)


@router.post("/invitations", status_code=201, response_model=CompanionView)
async def invite(
    body: CompanionInvite, request: Request, session: Session, member: Member
) -> JSONResponse:
    """Invite one household companion by phone (holders of an active paid card only)."""

    async def action() -> CompanionView:
        return await service.invite(session, member, body.phone)

    return await run_idempotent(session, request, f"user:{member.id}", action, 201)


@router.delete("", response_model=CompanionView)
async def remove(request: Request, session: Session, member: Member) -> JSONResponse:
    """Remove your companion or withdraw your invitation: their code stops using your card at
    once. Only the card's holder can."""

    async def action() -> CompanionView:
        return await service.remove(session, member)

    return await run_idempotent(session, request, f"user:{member.id}", action)


@router.post("/invitations/{invitation_id}/accept", response_model=SharedCard)
async def accept(
    invitation_id: uuid.UUID, request: Request, session: Session, member: Member
) -> JSONResponse:
    """Accept an invitation sent to your phone number: your member code then uses the card."""

    async def action() -> SharedCard:
        return await service.accept(session, member, invitation_id)

    return await run_idempotent(session, request, f"user:{member.id}", action)


@router.post("/invitations/{invitation_id}/decline", response_model=CompanionState)
async def decline(
    invitation_id: uuid.UUID, request: Request, session: Session, member: Member
) -> JSONResponse:
    async def action() -> CompanionState:
        await service.decline(session, member, invitation_id)
        return await service.state(session, member)

    return await run_idempotent(session, request, f"user:{member.id}", action)
