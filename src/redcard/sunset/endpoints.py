"""Sunset API: operators prepare, approve, follow and reconcile; members follow their refunds
and, while the programme runs and policy allows, ask for one."""

from __future__ import annotations

import io
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from redcard.deps import Member, Operator, Session
from redcard.http.idempotency import run_idempotent
from redcard.models import SunsetCampaign
from redcard.sunset import reconcile as rec
from redcard.sunset import schemas, service

router = APIRouter(tags=["sunset"])


async def _view(
    session: Session, campaign: SunsetCampaign, *, with_dry_run: bool = False
) -> schemas.Sunset:
    view = schemas.Sunset.model_validate(campaign)
    if with_dry_run:
        dry = await service.dry_run(session, campaign.policy, campaign.cutoff_at)
        view.dry_run = schemas.DryRun.model_validate(dry)
    progress = await service.progress(session, campaign)
    view.progress = schemas.Progress.model_validate(progress)
    return view


@router.post("/operator/sunsets", status_code=201, response_model=schemas.Sunset)
async def prepare(
    body: schemas.SunsetCreate, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    """Prepare a sunset (cut-off, policy, member notice). The response carries the dry run."""

    async def action() -> schemas.Sunset:
        campaign = await service.prepare(
            session, operator, cutoff_at=body.cutoff_at, policy=body.policy, notice=body.notice
        )
        return await _view(session, campaign, with_dry_run=True)

    return await run_idempotent(session, request, f"user:{operator.id}", action, 201)


@router.get("/operator/sunsets/{campaign_id}", response_model=schemas.Sunset)
async def get_sunset(
    campaign_id: uuid.UUID, session: Session, _: Operator, dry_run: bool = False
) -> schemas.Sunset:
    campaign = await service.get_campaign(session, campaign_id)
    return await _view(session, campaign, with_dry_run=dry_run)


@router.post("/operator/sunsets/{campaign_id}/approve", response_model=schemas.Sunset)
async def approve(
    campaign_id: uuid.UUID, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    """A second operator approves: sales stop now; benefits end and refunds start at the
    cut-off."""

    async def action() -> schemas.Sunset:
        return await _view(session, await service.approve(session, campaign_id, operator))

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.post("/operator/sunsets/{campaign_id}/cancel", response_model=schemas.Sunset)
async def cancel(
    campaign_id: uuid.UUID, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    async def action() -> schemas.Sunset:
        return await _view(session, await service.cancel(session, campaign_id))

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.get("/operator/sunsets/{campaign_id}/exceptions", response_model=list[schemas.ExceptionRow])
async def list_exceptions(
    campaign_id: uuid.UUID, session: Session, _: Operator
) -> list[schemas.ExceptionRow]:
    rows = await service.exceptions(session, campaign_id)
    return [schemas.ExceptionRow.model_validate(r) for r in rows]


@router.post("/operator/refunds/{refund_id}/retry", response_model=schemas.RefundRef)
async def retry_refund(
    refund_id: uuid.UUID, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    """Exceptions queue: try a failed refund again, with the same refund number."""

    async def action() -> schemas.RefundRef:
        return schemas.RefundRef.model_validate(await service.retry_refund(session, refund_id))

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.post("/operator/refunds/{refund_id}/offline", response_model=schemas.RefundRef)
async def settle_offline(
    refund_id: uuid.UUID,
    body: schemas.OfflineSettlement,
    request: Request,
    session: Session,
    operator: Operator,
) -> JSONResponse:
    """Exceptions queue: the money went back outside the channel; record its reference."""

    async def action() -> schemas.RefundRef:
        refund = await service.settle_offline(session, refund_id, body.reference)
        return schemas.RefundRef.model_validate(refund)

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.post("/operator/sunsets/{campaign_id}/reconcile", response_model=schemas.ReconcileReport)
async def reconcile(
    campaign_id: uuid.UUID, body: schemas.ReconcileRequest, session: Session, _: Operator
) -> schemas.ReconcileReport:
    """Classify a channel bill (CSV) against the campaign's refunds. Reads only."""
    await service.get_campaign(session, campaign_id)
    report = await rec.reconcile_csv(session, [io.StringIO(body.bill_csv)], campaign_id=campaign_id)
    return schemas.ReconcileReport.model_validate(report.as_dict())


# -- members ----------------------------------------------------------------------------------
@router.get("/refunds", response_model=list[schemas.MemberRefund])
async def my_refunds(session: Session, member: Member) -> list[schemas.MemberRefund]:
    """Your refunds: amount, status and timeline."""
    rows = await service.member_refunds(session, member)
    return [schemas.MemberRefund.model_validate(r) for r in rows]


@router.get("/refunds/quote", response_model=schemas.RefundQuote)
async def quote(session: Session, member: Member) -> schemas.RefundQuote:
    """What a refund of your card would give back now, before you confirm."""
    ctx = await service.quote_self_refund(session, member)
    return schemas.RefundQuote.model_validate(ctx.quote)


@router.post("/refunds", status_code=201, response_model=schemas.RefundRef)
async def request_refund(request: Request, session: Session, member: Member) -> JSONResponse:
    """Give your card back for the quoted refund (cooling-off period, plan policy)."""

    async def action() -> schemas.RefundRef:
        refund = await service.request_self_refund(session, member)
        return schemas.RefundRef.model_validate(refund)

    return await run_idempotent(session, request, f"user:{member.id}", action, 201)
