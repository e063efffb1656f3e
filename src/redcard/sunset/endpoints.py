"""Sunset API: operators prepare, approve, follow and reconcile a campaign, and work its
exceptions queue. (A member's own refunds are membership's: membership/endpoints.py.)"""

from __future__ import annotations

import io
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from redcard.deps import Operator, Session
from redcard.http.idempotency import run_idempotent
from redcard.membership.schemas import RefundRef
from redcard.models import SunsetCampaign
from redcard.sunset import dryrun, schemas, service
from redcard.sunset import repository as repo

router = APIRouter(tags=["sunset"])


async def _view(
    session: Session, campaign: SunsetCampaign, *, with_dry_run: bool = False
) -> schemas.Sunset:
    view = schemas.Sunset.model_validate(campaign)
    if with_dry_run:
        dry = await dryrun.dry_run(session, campaign.policy, campaign.cutoff_at)
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


@router.get("/operator/sunsets", response_model=list[schemas.Sunset])
async def list_sunsets(
    session: Session, _: Operator, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[schemas.Sunset]:
    """The campaigns, newest first, each with its progress."""
    campaigns = await repo.list_campaigns(session, limit)
    return [await _view(session, c) for c in campaigns]


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


@router.post("/operator/refunds/{refund_id}/retry", response_model=RefundRef)
async def retry_refund(
    refund_id: uuid.UUID, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    """Exceptions queue: try a failed refund again, with the same refund number."""

    async def action() -> RefundRef:
        return RefundRef.model_validate(await service.retry_refund(session, refund_id))

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.post("/operator/refunds/{refund_id}/offline", response_model=RefundRef)
async def settle_offline(
    refund_id: uuid.UUID,
    body: schemas.OfflineSettlement,
    request: Request,
    session: Session,
    operator: Operator,
) -> JSONResponse:
    """Exceptions queue: the money went back outside the channel; record its reference."""

    async def action() -> RefundRef:
        refund = await service.settle_offline(session, refund_id, body.reference)
        return RefundRef.model_validate(refund)

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.post("/operator/sunsets/{campaign_id}/reconcile", response_model=schemas.ReconcileReport)
async def reconcile(
    campaign_id: uuid.UUID, body: schemas.ReconcileRequest, session: Session, _: Operator
) -> schemas.ReconcileReport:
    """Classify a channel bill (CSV) against the campaign's refunds. Reads only."""
    report = await service.reconcile(session, campaign_id, [io.StringIO(body.bill_csv)])
    return schemas.ReconcileReport.model_validate(report.as_dict())
