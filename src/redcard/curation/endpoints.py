"""The curation API: members review their purchases, anyone reads a store's reviews,
operators rank candidates, record inspections, hide reviews and read a store's history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from redcard.curation import candidates as ranking
from redcard.curation import inspections, reviews
from redcard.curation.rules import Rules
from redcard.curation.schemas import (
    Candidate,
    CandidatePage,
    Decision,
    Inspection,
    InspectionCreate,
    Review,
    ReviewCreate,
    ReviewHide,
    ReviewPage,
    StoreCuration,
)
from redcard.deps import Ctx, Member, Operator, Public, Session
from redcard.errors import NotFound
from redcard.http.idempotency import run_idempotent
from redcard.kit.pagination import page_number
from redcard.models import Store

router = APIRouter(tags=["curation"])


async def _store(session: Session, store_id: uuid.UUID) -> Store:
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound("no such store")
    return store


@router.post("/stores/{store_id}/reviews", status_code=201, response_model=Review)
async def write_review(
    store_id: uuid.UUID,
    body: ReviewCreate,
    request: Request,
    session: Session,
    ctx: Ctx,
    member: Member,
) -> JSONResponse:
    """Review one of your purchases at this store (1–5 stars, at most 1000 characters)."""

    async def action() -> Review:
        review = await reviews.write_review(
            session,
            member,
            body.redemption_id,
            body.stars,
            body.body,
            store_id=store_id,
            rules=Rules.of(ctx.settings),
        )
        return Review.model_validate(review)

    return await run_idempotent(session, request, f"user:{member.id}", action, 201)


@router.get("/stores/{store_id}/reviews", response_model=ReviewPage, dependencies=[Public])
async def store_reviews(
    store_id: uuid.UUID,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ReviewPage:
    """A store's visible reviews, newest first; authors' names masked."""
    await _store(session, store_id)
    items = await reviews.visible_reviews(session, store_id, limit=limit, offset=offset)
    total = await reviews.count_visible(session, store_id)
    return ReviewPage(items=items, limit=limit, offset=offset, total=total)


@router.get("/me/reviews", response_model=list[Review])
async def my_reviews(session: Session, member: Member) -> list[Review]:
    """Your reviews, hidden ones with the operator's reason."""
    return await reviews.member_review_views(session, member.id)


@router.get("/operator/curation/candidates", response_model=CandidatePage)
async def candidates(
    session: Session,
    ctx: Ctx,
    _: Operator,
    district: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[str | None, Query(max_length=16)] = None,
) -> CandidatePage:
    """Stores with reviews, an inspection or the badge, ranked by community score."""
    listed = await ranking.candidates(
        session,
        ranking.Filters(district=district or None, category=category or None),
        page_number(page),
        rules=Rules.of(ctx.settings),
    )
    items: list[Candidate] = list(listed.items)
    return CandidatePage(items=items, page=listed.number, pages=listed.pages, total=listed.total)


@router.post("/operator/stores/{store_id}/inspections", status_code=201, response_model=Inspection)
async def record_inspection(
    store_id: uuid.UUID,
    body: InspectionCreate,
    request: Request,
    session: Session,
    ctx: Ctx,
    operator: Operator,
) -> JSONResponse:
    """Record an in-person inspection; the store's badge is re-decided at once."""

    async def action() -> Inspection:
        recorded = await inspections.record_inspection(
            session, operator, store_id, body, rules=Rules.of(ctx.settings)
        )
        return Inspection.model_validate(recorded.inspection)

    return await run_idempotent(session, request, f"user:{operator.id}", action, 201)


@router.post("/operator/reviews/{review_id}/hide", response_model=Review)
async def hide_review(
    review_id: uuid.UUID,
    body: ReviewHide,
    request: Request,
    session: Session,
    ctx: Ctx,
    operator: Operator,
) -> JSONResponse:
    """Hide a review with a reason its author sees; it stops counting at once."""

    async def action() -> Review:
        review = await reviews.hide_review(
            session, operator, review_id, body.reason, rules=Rules.of(ctx.settings)
        )
        return Review.model_validate(review)

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.get("/operator/stores/{store_id}/curation", response_model=StoreCuration)
async def store_curation(store_id: uuid.UUID, session: Session, _: Operator) -> StoreCuration:
    """The store's badge decisions and inspections, latest first."""
    store = await _store(session, store_id)
    decisions = await inspections.decisions_of(session, store_id)
    visits = await inspections.inspections_of(session, store_id)
    return StoreCuration(
        store_id=store.id,
        curated=store.curated,
        score=store.score,
        review_count=store.review_count,
        decisions=[Decision.model_validate(d) for d in decisions],
        inspections=[Inspection.model_validate(i) for i in visits],
    )
