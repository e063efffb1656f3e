"""The operator's curation list: stores with member reviews, an inspection or the badge, ranked
by community score, each with what stands between it and the badge (`badge.decide`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.curation import badge
from redcard.curation.rules import Rules, current_rules
from redcard.curation.schemas import Candidate
from redcard.kit.pagination import Page, paginate
from redcard.kit.time import today
from redcard.models import Store, StoreInspection

PAGE_SIZE = 25


@dataclass(frozen=True, slots=True)
class Filters:
    district: str | None = None
    category: str | None = None


async def candidates(
    session: AsyncSession,
    filters: Filters,
    page: int = 1,
    size: int = PAGE_SIZE,
    *,
    rules: Rules | None = None,
) -> Page[Candidate]:
    rules = rules or current_rules()
    inspected = exists().where(StoreInspection.store_id == Store.id)
    stmt = select(Store).where(or_(Store.review_count > 0, Store.curated, inspected))
    if filters.district:
        stmt = stmt.where(Store.district == filters.district)
    if filters.category:
        stmt = stmt.where(Store.category == filters.category)
    stmt = stmt.order_by(Store.score.desc().nulls_last(), Store.review_count.desc(), Store.id)
    listed = await paginate(session, stmt, page, size)
    latest = await _latest_inspections(session, [s.id for s in listed.items])
    day = today()
    items = []
    for store in listed.items:
        inspection = latest.get(store.id)
        verdict = badge.decide(badge.facts_of(store, inspection), rules, day)
        items.append(
            Candidate(
                store_id=store.id,
                name=store.name,
                district=store.district,
                category=store.category,
                status=store.status,
                score=store.score,
                rating_avg=store.rating_avg,
                review_count=store.review_count,
                last_review_at=store.last_review_at,
                inspected_on=store.inspected_on,
                latest_inspection_on=inspection.inspected_on if inspection else None,
                latest_inspection_passed=inspection.passed if inspection else None,
                curated=store.curated,
                curated_at=store.curated_at,
                blocking=[str(r) for r in verdict.reasons],
            )
        )
    return Page(items=items, total=listed.total, number=listed.number, size=listed.size)


async def _latest_inspections(
    session: AsyncSession, store_ids: list[uuid.UUID]
) -> dict[uuid.UUID, StoreInspection]:
    if not store_ids:
        return {}
    rows = await session.scalars(
        select(StoreInspection)
        .where(StoreInspection.store_id.in_(store_ids))
        .order_by(
            StoreInspection.inspected_on.desc(),
            StoreInspection.created_at.desc(),
            StoreInspection.id.desc(),
        )
    )
    latest: dict[uuid.UUID, StoreInspection] = {}
    for inspection in rows:
        latest.setdefault(inspection.store_id, inspection)
    return latest


async def districts_and_categories(session: AsyncSession) -> tuple[list[str], list[str]]:
    """The filters' choices: the districts and categories of stores on the list."""
    inspected = exists().where(StoreInspection.store_id == Store.id)
    listed = or_(Store.review_count > 0, Store.curated, inspected)
    districts = await session.scalars(
        select(Store.district).where(listed, Store.district.is_not(None)).distinct()
    )
    categories = await session.scalars(select(Store.category).where(listed).distinct())
    return sorted(d for d in districts if d), sorted(categories)
