"""The merchant's 会员价值 page: whether the programme brings customers, week by week
(economics/merchant.py), for each merchant whose stores the user works at."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from redcard.deps import Session
from redcard.economics.merchant import WEEKS, merchant_value
from redcard.merchants import access
from redcard.models import Merchant, Role, User
from redcard.web.common import require
from redcard.web.render import render

router = APIRouter(include_in_schema=False)
StaffPage = Annotated[User, require(Role.merchant_staff)]


@router.get("/merchant/value", response_class=HTMLResponse)
async def value_page(request: Request, session: Session, user: StaffPage) -> Response:
    merchant_ids = await access.merchant_ids_for(session, user) or []
    names = dict(
        (
            await session.execute(
                select(Merchant.id, Merchant.name).where(Merchant.id.in_(merchant_ids))
            )
        ).all()
    )
    reports = [await merchant_value(session, m) for m in merchant_ids]
    return render(request, "merchant/value.html", reports=reports, names=names, weeks=WEEKS)
