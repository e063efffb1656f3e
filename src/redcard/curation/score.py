"""The community score: a store's member ratings, recency-weighted and shrunk toward the city
mean (docs/curation.md).

    w_i   = 0.5 ** (age_days_i / half_life_days)
    score = (prior * city_mean + Σ w_i * stars_i) / (prior + Σ w_i)

A store with few (or only old) reviews sits near the city mean; many recent reviews pull it
toward its own. No reviews: no score (NULL). A review counts while it is visible (not hidden
by an operator) and its purchase still stands (a redemption undone after the review stops
counting). The city mean is the mean stars of every counted review in the programme."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from redcard.curation import badge
from redcard.curation.rules import Rules, current_rules
from redcard.kit.sql import for_update_kwargs
from redcard.kit.time import as_utc, today, utc_now
from redcard.models import CurationDecision, Redemption, RedemptionStatus, Store, StoreReview

SCORE_DECIMALS = 3  # stored and compared at this precision, so 4.2 is 4.2


def community_score(
    reviews: Iterable[tuple[int, datetime]],
    city_mean: float,
    *,
    prior: float,
    half_life_days: int,
    now: datetime,
) -> float | None:
    """The score of (stars, created_at) reviews at `now`; None without reviews. A review
    from the future (clock skew) weighs as a new one."""
    weight_sum = weighted_stars = 0.0
    seen = False
    for stars, created_at in reviews:
        seen = True
        age_days = max(0.0, (now - as_utc(created_at)).total_seconds() / 86400)
        weight = 0.5 ** (age_days / half_life_days)
        weight_sum += weight
        weighted_stars += weight * stars
    if not seen:
        return None
    denominator = prior + weight_sum
    if denominator <= 0 or math.isclose(denominator, 0.0):
        return None
    return round((prior * city_mean + weighted_stars) / denominator, SCORE_DECIMALS)


@cache
def counted() -> ColumnElement[bool]:
    """SQL: a review that counts (visible, and its purchase still committed). Built once."""
    purchase = aliased(Redemption)  # the query may join redemptions itself
    return and_(
        StoreReview.hidden_at.is_(None),
        exists().where(
            purchase.id == StoreReview.redemption_id,
            purchase.status == RedemptionStatus.committed,
        ),
    )


async def city_mean(session: AsyncSession) -> float | None:
    """The mean stars of every counted review in the programme (None before the first)."""
    value = await session.scalar(select(func.avg(StoreReview.stars)).where(counted()))
    return None if value is None else float(value)


async def _lock_store(session: AsyncSession, store_id: uuid.UUID) -> Store | None:
    return await session.scalar(
        select(Store)
        .where(Store.id == store_id)
        .with_for_update(**for_update_kwargs(session))
        .execution_options(populate_existing=True)
    )


async def evaluate_store(
    session: AsyncSession,
    store_id: uuid.UUID,
    *,
    rules: Rules | None = None,
    decided_by: uuid.UUID | None = None,
    note: str = "",
) -> CurationDecision | None:
    """Recompute the store's figures (rating_avg, review_count, last_review_at, score), its
    latest passing inspection and its badge, under the store's row lock; set the day it is
    next due for this (tomorrow; never, when there is nothing to evaluate). Returns the badge
    decision when the badge changed. A store that is gone is left alone."""
    rules = rules or current_rules()
    store = await _lock_store(session, store_id)
    if store is None:
        return None
    rows: list[Any] = list(
        (
            await session.execute(
                select(StoreReview.stars, StoreReview.created_at).where(
                    StoreReview.store_id == store_id, counted()
                )
            )
        ).all()
    )
    mean = await city_mean(session) if rows else None
    store.review_count = len(rows)
    store.rating_avg = (
        round(sum(r.stars for r in rows) / len(rows), SCORE_DECIMALS) if rows else None
    )
    store.last_review_at = max((as_utc(r.created_at) for r in rows), default=None)
    store.score = (
        community_score(
            ((r.stars, r.created_at) for r in rows),
            mean if mean is not None else 0.0,
            prior=rules.prior_reviews,
            half_life_days=rules.half_life_days,
            now=utc_now(),
        )
        if rows
        else None
    )
    store.inspected_on = await badge.latest_passing_on(session, store_id)
    inspection = await badge.latest_inspection(session, store_id)
    day = today()
    decision = await badge.apply(
        session, store, rules, day, inspection=inspection, decided_by=decided_by, note=note
    )
    store.curation_due_on = _next_due(store, inspection is not None, day)
    await session.flush()
    return decision


def _next_due(store: Store, inspected: bool, day: date) -> date | None:
    """Tomorrow, while anything about the store can change with time; else never."""
    if store.review_count or store.curated or inspected:
        return day + timedelta(days=1)
    return None


async def refresh_store(session: AsyncSession, store_id: uuid.UUID) -> None:
    """Recompute rating_avg, review_count, last_review_at, score; then the badge."""
    await evaluate_store(session, store_id)
