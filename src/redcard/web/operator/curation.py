"""Operator pages for curation: candidate stores ranked by community score (filtered by
district and category, paged), and one store's curation: record an inspection, the badge's
decision history with reasons, and its reviews with a hide-with-reason form."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from redcard.curation import badge, inspections, reviews
from redcard.curation import candidates as ranking
from redcard.curation.inspections import CHECKLIST
from redcard.curation.rules import Rules
from redcard.curation.schemas import InspectionCreate
from redcard.deps import Session, get_ctx
from redcard.errors import AppError, InvalidInput, NotFound
from redcard.kit.ids import new_token
from redcard.kit.pagination import page_number
from redcard.kit.time import today
from redcard.models import Role, Store, User
from redcard.web.common import error_text, require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(prefix="/operator/curation", include_in_schema=False)
OperatorPage = Annotated[User, require(Role.operator)]


class Done(BaseModel):
    id: uuid.UUID


def _rules(request: Request) -> Rules:
    return Rules.of(get_ctx(request).settings)


@router.get("", response_class=HTMLResponse)
async def candidates_page(request: Request, session: Session, _: OperatorPage) -> Response:
    query = request.query_params
    filters = ranking.Filters(
        district=(query.get("district") or "").strip()[:32] or None,
        category=(query.get("category") or "").strip()[:32] or None,
    )
    listed = await ranking.candidates(
        session, filters, page_number(query.get("page")), rules=_rules(request)
    )
    districts, categories = await ranking.districts_and_categories(session)
    return render(
        request,
        "curation/candidates.html",
        listed=listed,
        filters=filters,
        districts=districts,
        categories=categories,
        reason_words=badge.REASON_WORDS,
        rules=_rules(request),
    )


async def _store_page(
    request: Request,
    session: Session,
    store_id: uuid.UUID,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound("no such store")
    rules = _rules(request)
    latest = await badge.latest_inspection(session, store_id)
    verdict = badge.decide(badge.facts_of(store, latest), rules, today())
    return render(
        request,
        "curation/store.html",
        status_code=status_code,
        store=store,
        verdict=verdict,
        rules=rules,
        decisions=await inspections.decisions_of(session, store_id),
        visits=await inspections.inspections_of(session, store_id),
        reviews=await reviews.store_reviews_for_operator(session, store_id),
        checklist=CHECKLIST,
        reason_words=badge.REASON_WORDS,
        today=today().isoformat(),
        idempotency_key=new_token(16),
        form=extra.pop("form", {}),
        **extra,
    )


@router.get("/stores/{store_id}", response_class=HTMLResponse)
async def store_page(
    store_id: uuid.UUID, request: Request, session: Session, _: OperatorPage
) -> Response:
    return await _store_page(request, session, store_id)


def _inspection_form(form: dict[str, Any]) -> InspectionCreate:
    text = str(form.get("inspected_on", "")).strip()
    try:
        inspected_on = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput("give the inspection date") from exc
    verdict = str(form.get("passed", ""))
    if verdict not in ("yes", "no"):
        raise InvalidInput("say whether the store passed")
    return InspectionCreate(
        inspected_on=inspected_on,
        inspector=str(form.get("inspector", "")),
        checklist={item.key: form.get(f"item_{item.key}") == "pass" for item in CHECKLIST},
        passed=verdict == "yes",
        notes=str(form.get("notes", "")),
    )


@router.post("/stores/{store_id}/inspections")
async def inspection_submit(
    store_id: uuid.UUID, request: Request, session: Session, operator: OperatorPage
) -> Response:
    form = await check_csrf(request)

    async def action() -> Done:
        data = _inspection_form(form)
        recorded = await inspections.record_inspection(
            session, operator, store_id, data, rules=_rules(request)
        )
        return Done(id=recorded.inspection.id)

    try:
        await submit_once(session, operator, form, f"inspection:{store_id}", action)
    except (AppError, ValidationError) as exc:
        status = exc.status_code if isinstance(exc, AppError) else 422
        return await _store_page(
            request, session, store_id, status, error=error_text(exc), form=form
        )
    return redirect(f"/operator/curation/stores/{store_id}?saved=1")


@router.post("/reviews/{review_id}/hide")
async def hide_submit(
    review_id: uuid.UUID, request: Request, session: Session, operator: OperatorPage
) -> Response:
    form = await check_csrf(request)
    try:
        store_id: uuid.UUID | None = uuid.UUID(str(form.get("store_id", "")))
    except ValueError:
        store_id = None

    async def action() -> Done:
        review = await reviews.hide_review(
            session, operator, review_id, str(form.get("reason", "")), rules=_rules(request)
        )
        return Done(id=review.store_id)

    try:
        outcome = await submit_once(session, operator, form, f"hide:{review_id}", action)
    except AppError as exc:
        if store_id is None:
            raise
        return await _store_page(
            request, session, store_id, exc.status_code, error=exc.message, hide_for=review_id
        )
    return redirect(f"/operator/curation/stores/{outcome.body['id']}?saved=1")
