"""Operator console: the programme sunset (prepare, dry run, second-operator approval,
live progress, exceptions queue, reconciliation against the channel's bill)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.deps import Ctx, Session
from redcard.errors import AppError, InvalidInput
from redcard.kit.time import utc_now
from redcard.models import CampaignStatus, RefundPolicy, Role, SunsetCampaign, User
from redcard.payments.port import BillLine
from redcard.sunset import reconcile as rec
from redcard.sunset import repository as repo
from redcard.sunset import service
from redcard.web.common import require
from redcard.web.render import SHANGHAI, check_csrf, redirect, render

router = APIRouter(prefix="/operator/sunset", include_in_schema=False)
OperatorPage = Annotated[User, require(Role.operator)]


async def _page(
    request: Request,
    session: Session,
    user: User,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    campaigns = await repo.list_campaigns(session, 10)
    campaign: SunsetCampaign | None = campaigns[0] if campaigns else None
    ctx: dict[str, Any] = {"campaign": campaign, "history": campaigns[1:], "me": user}
    if campaign is not None:
        if campaign.status == CampaignStatus.prepared:
            ctx["dry"] = await service.dry_run(session, campaign.policy, campaign.cutoff_at)
        ctx["progress"] = await service.progress(session, campaign)
        if campaign.status in (CampaignStatus.approved, CampaignStatus.completed):
            ctx["exceptions"] = await service.exceptions(session, campaign.id)
        ctx["refresh"] = campaign.status == CampaignStatus.approved
    return render(request, "sunset/console.html", status_code=status_code, **ctx, **extra)


@router.get("", response_class=HTMLResponse)
async def console(request: Request, session: Session, user: OperatorPage) -> Response:
    return await _page(request, session, user)


def _cutoff(text: str) -> datetime:
    """A local (Shanghai) date and time from the form, stored in UTC."""
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput("give the cut-off as a date and time") from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=SHANGHAI)
    return local


async def _act(request: Request, session: Session, user: User, action: Any) -> Response:
    try:
        async with session.begin_nested():
            await action()
    except AppError as exc:
        return await _page(request, session, user, exc.status_code, error=exc.message)
    return redirect("/operator/sunset")


@router.post("")
async def prepare(request: Request, session: Session, user: OperatorPage) -> Response:
    form = await check_csrf(request)

    async def action() -> None:
        policy = str(form.get("policy") or "full")
        if policy not in RefundPolicy.__members__:
            raise InvalidInput("unknown refund policy")
        await service.prepare(
            session,
            user,
            cutoff_at=_cutoff(str(form.get("cutoff", ""))),
            policy=RefundPolicy(policy),
            notice=str(form.get("notice", "")),
        )

    return await _act(request, session, user, action)


@router.post("/{campaign_id}/approve")
async def approve(
    campaign_id: uuid.UUID, request: Request, session: Session, user: OperatorPage
) -> Response:
    await check_csrf(request)

    async def action() -> None:
        await service.approve(session, campaign_id, user)

    return await _act(request, session, user, action)


@router.post("/{campaign_id}/cancel")
async def cancel(
    campaign_id: uuid.UUID, request: Request, session: Session, user: OperatorPage
) -> Response:
    await check_csrf(request)

    async def action() -> None:
        await service.cancel(session, campaign_id)

    return await _act(request, session, user, action)


@router.post("/refunds/{refund_id}/retry")
async def retry(
    refund_id: uuid.UUID, request: Request, session: Session, user: OperatorPage
) -> Response:
    await check_csrf(request)

    async def action() -> None:
        await service.retry_refund(session, refund_id)

    return await _act(request, session, user, action)


@router.post("/refunds/{refund_id}/offline")
async def offline(
    refund_id: uuid.UUID, request: Request, session: Session, user: OperatorPage
) -> Response:
    form = await check_csrf(request)

    async def action() -> None:
        await service.settle_offline(session, refund_id, str(form.get("reference", "")))

    return await _act(request, session, user, action)


@router.post("/{campaign_id}/reconcile")
async def reconcile(
    campaign_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, user: OperatorPage
) -> Response:
    """Fetch the channel's bill for every day since approval (through the port) and classify."""
    await check_csrf(request)
    try:
        async with session.begin_nested():
            campaign = await service.get_campaign(session, campaign_id)
            lines: list[BillLine] = []
            for day in rec.days_of(campaign.approved_at or campaign.created_at, utc_now()):
                lines.extend(
                    line for line in await ctx.channels.default.bill(day) if line.kind == "refund"
                )
            report = await rec.reconcile(session, lines, campaign_id=campaign.id)
    except AppError as exc:
        return await _page(request, session, user, exc.status_code, error=exc.message)
    return await _page(request, session, user, report=report)
