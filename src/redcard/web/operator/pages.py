"""Operator console: plans (create, re-price, retire) and the ledger check."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from redcard.deps import Session, get_ctx
from redcard.economics import engagement, scarcity
from redcard.economics.headline import headline, month_bounds, parse_month, previous_month
from redcard.economics.member_value import member_value
from redcard.errors import AppError
from redcard.kit.money import MoneyError, parse_yuan
from redcard.kit.time import business_day, utc_now
from redcard.ledger import service as ledger
from redcard.membership import repository as repo
from redcard.membership import service as membership
from redcard.membership.schemas import PlanCreate, PlanUpdate
from redcard.models import PlanStatus, Role, Store, User
from redcard.web.common import error_text, require
from redcard.web.render import check_csrf, gettext_for, redirect, render

router = APIRouter(prefix="/operator", include_in_schema=False)
OperatorPage = Annotated[User, require(Role.operator)]


def _month(request: Request) -> tuple[date, str | None]:
    """The month the headline shows (`?month=YYYY-MM`, default this one), and what was wrong
    with the one asked for (this month is shown instead)."""
    try:
        return parse_month(request.query_params.get("month")), None
    except ValueError as exc:
        return parse_month(None), str(exc)


async def _console(
    request: Request, session: Session, status_code: int = 200, **extra: object
) -> Response:
    plans = await repo.list_plans(session, include_retired=True)
    month, month_error = _month(request)
    this = business_day(utc_now()).replace(day=1)
    # an audit over every entry, and the month's figures: the replica's work when there is one
    async with get_ctx(request).db.report_scope(session) as reports:
        report = await ledger.check(reports)
        h = await headline(reports, month)
        members_funnel = await engagement.funnel(reports)
        member_cohorts = await engagement.cohorts(reports)
        value = await member_value(reports)
        start, end = month_bounds(month)
        end = min(end, utc_now())
        shares = {
            "weeks": await scarcity.weekly(reports),
            "districts": await scarcity.by(reports, Store.district, start, end),
            "categories": await scarcity.by(reports, Store.category, start, end),
        }
    following = month_bounds(month)[1]
    return render(
        request,
        "operator/console.html",
        status_code=status_code,
        plans=plans,
        ledger=report,
        h=h,
        funnel=members_funnel,
        cohorts=member_cohorts,
        dormant_days=engagement.DORMANT_DAYS,
        value=value,
        scarcity=shares,
        is_current=month == this,
        month_error=gettext_for(request)(month_error) if month_error else None,
        previous_month=previous_month(month).strftime("%Y-%m"),
        next_month=None if month == this else business_day(following).strftime("%Y-%m"),
        **extra,
    )


@router.get("", response_class=HTMLResponse)
async def console(request: Request, session: Session, _: OperatorPage) -> Response:
    return await _console(request, session)


@router.post("/plans")
async def create_plan(request: Request, session: Session, _: OperatorPage) -> Response:
    form = await check_csrf(request)
    try:
        async with session.begin_nested():
            data = PlanCreate(
                code=str(form.get("code", "")),
                name=str(form.get("name", "")),
                name_en=str(form.get("name_en", "")),
                kind=str(form.get("kind", "paid")),
                price_fen=parse_yuan(str(form.get("price_yuan", ""))),
                duration_days=int(str(form.get("duration_days", "0")) or 0),
                refund_policy=str(form.get("refund_policy", "full")),
            )
            await membership.create_plan(session, data)
    except (AppError, ValidationError, MoneyError, ValueError) as exc:
        return await _console(request, session, 422, error=error_text(exc), form=form)
    return redirect("/operator")


@router.post("/plans/{plan_id}")
async def update_plan(
    plan_id: uuid.UUID, request: Request, session: Session, _: OperatorPage
) -> Response:
    form = await check_csrf(request)
    try:
        async with session.begin_nested():
            plan = await membership.get_plan(session, plan_id)
            price = str(form.get("price_yuan", "")).strip()
            status = str(form.get("status", "")) or None
            await membership.update_plan(
                session,
                plan_id,
                PlanUpdate(
                    name=str(form.get("name") or plan.name),
                    price_fen=parse_yuan(price) if price else None,
                    status=PlanStatus(status) if status else None,
                ),
            )
    except (AppError, ValidationError, MoneyError, ValueError) as exc:
        return await _console(request, session, 422, error=error_text(exc))
    return redirect("/operator")
