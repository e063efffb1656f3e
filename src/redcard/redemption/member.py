"""The member's side: their code secret, the rotating code, the QR, their redemptions, and
savings summed from the ledger."""

from __future__ import annotations

import uuid
from datetime import timedelta

import segno
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.companions.repository import card_in_use
from redcard.errors import Conflict, NotFound
from redcard.kit.sql import insert_ignore
from redcard.kit.time import utc_now
from redcard.ledger import savings
from redcard.models import (
    MemberCode,
    Plan,
    Redemption,
    RedemptionStatus,
    User,
)
from redcard.redemption import codes
from redcard.redemption.repository import burned, list_for_member
from redcard.redemption.schemas import MemberCodeOut, MemberCodeUse, MemberRedemption


async def get_or_create_code(session: AsyncSession, member_id: uuid.UUID) -> MemberCode:
    """The member's code secret, made on first use. A new handle that is taken already is
    ignored and another one drawn."""
    found = await session.get(MemberCode, member_id)
    for _ in range(8):
        if found is not None:
            return found
        values = {
            "member_id": member_id,
            "handle": codes.new_handle(),
            "secret": codes.new_secret(),
            "created_at": utc_now(),
        }
        await session.execute(insert_ignore(session, MemberCode).values(values))
        found = await session.get(MemberCode, member_id)
    raise Conflict("could not allocate a member code; try again")


async def my_redemptions(session: AsyncSession, member: User) -> list[MemberRedemption]:
    return [member_view(r, name) for r, name in await list_for_member(session, member.id)]


def qr_svg(code: str) -> str:
    return str(segno.make(code, micro=False, error="m").svg_inline(scale=6, border=2))


def member_view(r: Redemption, store_name: str) -> MemberRedemption:
    return MemberRedemption(
        id=r.id,
        status=r.status,
        store_name=store_name,
        bill_fen=r.bill_fen,
        discount_fen=r.discount_fen,
        charged_fen=r.charged_fen,
        committed_at=r.committed_at,
        undone_at=r.undone_at,
    )


async def current_code(
    session: AsyncSession, member: User, key: bytes, recent: timedelta
) -> MemberCodeOut:
    now = utc_now()
    # their own card, or the primary's card they use as a household companion
    in_use = await card_in_use(session, member.id, now)
    if in_use is None:
        raise NotFound("you have no valid card, so there is no member code")
    price_fen = await session.scalar(select(Plan.price_fen).where(Plan.id == in_use.card.plan_id))
    secret = await get_or_create_code(session, member.id)
    ts = now.timestamp()
    step = codes.step_at(ts)
    code = codes.member_code(secret.handle, secret.secret, key, step)
    latest = await list_for_member(session, member.id, limit=1, since=now - recent)
    last = None
    if latest and latest[0][0].status == RedemptionStatus.committed:
        last = member_view(*latest[0])
    return MemberCodeOut(
        code=code,
        grouped=codes.group(code),
        step=step,
        step_seconds=codes.STEP_SECONDS,
        expires_in=round((step + 1) * codes.STEP_SECONDS - ts, 3),
        qr_svg=qr_svg(code),
        savings_fen=await savings.savings_fen(session, in_use.holder_id),
        card_price_fen=int(price_fen or 0),
        last=last,
        used=await burned(session, member.id, step),
    )


async def code_use(session: AsyncSession, member: User, step: int) -> MemberCodeUse:
    """Whether the member's code for `step` was used: the card page asks every second or
    two, so a code used at the till turns to "used" at once, not when the next code is due."""
    return MemberCodeUse(step=step, used=await burned(session, member.id, step))
