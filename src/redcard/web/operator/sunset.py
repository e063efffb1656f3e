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
from redcard.models import CampaignStatus, RefundPolicy, Role, User
from redcard.sunset import service
from redcard.web.common import require
from redcard.web.forms import local_datetime
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(prefix="/operator/sunset", include_in_schema=False)
OperatorPage = Annotated[User, require(Role.operator)]


async def _page(
    request: Request,
    session: Session,
    user: User,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    view = await service.console(session)
    return render(
        request,
        "sunset/console.html",
        status_code=status_code,
        campaign=view.campaign,
        history=view.history,
        dry=view.dry,
        progress=view.progress,
        exceptions=view.exceptions,
        refresh=view.campaign is not None and view.campaign.status == CampaignStatus.approved,
        me=user,
        **extra,
    )


@router.get("", response_class=HTMLResponse)
async def console(request: Request, session: Session, user: OperatorPage) -> Response:
    return await _page(request, session, user)


def _cutoff(value: object) -> datetime:
    refusal = "give the cut-off as a date and time"
    cutoff = local_datetime(value, refusal)
    if cutoff is None:
        raise InvalidInput(refusal)
    return cutoff


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
            cutoff_at=_cutoff(form.get("cutoff")),
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
    """Classify the channel's bill for every day since approval (fetched through the port)."""
    await check_csrf(request)
    try:
        async with session.begin_nested():
            report = await service.reconcile(session, campaign_id, channel=ctx.channels.default)
    except AppError as exc:
        return await _page(request, session, user, exc.status_code, error=exc.message)
    return await _page(request, session, user, report=report)
