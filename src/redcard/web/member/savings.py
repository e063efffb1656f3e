"""The 省钱账本: what the card has saved a member, against what it cost.

From the card page and 我的. The running total of the current card against its fee, as a
ring to 回本 (break-even), this month's savings, and every saving with its store and date
(an undo shows as its own negative line; a household companion's use is on the holder's
book). Every figure is the ledger's savings memo, read through ledger/savings.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from redcard.companions.repository import active_as_companion
from redcard.delivery.reminders import month_start
from redcard.deps import Session
from redcard.kit.time import utc_now
from redcard.ledger import savings
from redcard.membership import repository as cards
from redcard.models import Plan, PlanKind, Role, User
from redcard.web.common import require
from redcard.web.render import render

router = APIRouter(prefix="/card/savings", include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]
SHOWN = 200  # lines on the page; the totals count every line


@dataclass(frozen=True, slots=True)
class BreakEven:
    saved_fen: int  # on the current card, from its start
    fee_fen: int  # what the card cost (0 for a trial)
    percent: int  # of the fee saved so far; 0..100 on the ring, the words say more

    @property
    def to_go_fen(self) -> int:
        return max(0, self.fee_fen - self.saved_fen)

    @property
    def ring(self) -> int:
        return max(0, min(100, self.percent))


async def break_even(session: Session, member: User) -> BreakEven | None:
    """The current card's savings against its fee; None without an active card."""
    card = await cards.get_active_by_member(session, member.id)
    if card is None:
        return None
    fee = 0
    if card.kind == PlanKind.paid:
        fee = int(await session.scalar(select(Plan.price_fen).where(Plan.id == card.plan_id)) or 0)
    saved = await savings.savings_since(session, member.id, card.starts_at)
    percent = saved * 100 // fee if fee > 0 else 0
    return BreakEven(saved, fee, percent)


@router.get("", response_class=HTMLResponse)
async def savings_page(request: Request, session: Session, member: MemberPage) -> Response:
    book = await savings.savings_book(session, member.id, limit=SHOWN)
    card = await break_even(session, member)
    return render(
        request,
        "member/savings.html",
        card=card,
        # a household companion's uses are on the holder's book, not here
        shared=card is None and await active_as_companion(session, member.id) is not None,
        total_fen=await savings.savings_fen(session, member.id),
        month_fen=await savings.savings_since(session, member.id, month_start(utc_now())),
        lines=book,
        more=len(book) == SHOWN,
    )
