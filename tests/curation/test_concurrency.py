"""One review per purchase under contention, on PostgreSQL: parallel sessions, each its own
transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from redcard.curation import inspections, reviews
from redcard.errors import AppError
from redcard.kit import time as clock
from redcard.models import CurationDecision, Store, StoreReview
from tests.curation.helpers import inspection, purchase
from tests.fixtures.factories import card_holders, count, new_operator, new_till_shop

pytestmark = pytest.mark.postgres_only
NOON = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)


async def _attempt(db, member, redemption_id, stars):
    try:
        async with db.session_scope() as session:
            return await reviews.write_review(session, member, redemption_id, stars, "")
    except AppError as exc:
        return exc


async def test_two_writes_for_one_purchase_make_one_review(db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    [member] = await card_holders(db, 1)
    bought = await purchase(db, shop.store, member)
    results = await asyncio.gather(
        *(_attempt(db, member, bought.id, stars) for stars in (5, 1, 4, 2))
    )
    refused = [r for r in results if isinstance(r, AppError)]
    assert len(refused) == 3
    assert {r.status_code for r in refused} == {409}
    assert await count(db, StoreReview) == 1
    async with db.session_scope() as session:
        store = await session.get_one(Store, shop.store.id)
    assert store.review_count == 1


async def test_parallel_reviews_of_one_store_all_count(db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    members = await card_holders(db, 12)
    bought = [await purchase(db, shop.store, m) for m in members]
    results = await asyncio.gather(
        *(
            _attempt(db, m, b.id, 1 + i % 5)
            for i, (m, b) in enumerate(zip(members, bought, strict=False))
        )
    )
    assert not [r for r in results if isinstance(r, AppError)]
    async with db.session_scope() as session:
        store = await session.get_one(Store, shop.store.id)
    assert store.review_count == 12  # no figure lost to a race
    assert store.rating_avg == round(sum(1 + i % 5 for i in range(12)) / 12, 3)


async def test_parallel_inspections_and_reviews_of_one_store_do_not_deadlock(db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    members = await card_holders(db, 6)
    bought = [await purchase(db, shop.store, m) for m in members]
    operators = [await new_operator(db) for _ in range(4)]

    async def inspect(operator):
        try:
            async with db.session_scope() as session:
                return await inspections.record_inspection(
                    session, operator, shop.store.id, inspection(clock.today())
                )
        except AppError as exc:
            return exc

    results = await asyncio.gather(
        *(inspect(o) for o in operators),
        *(_attempt(db, m, b.id, 5) for m, b in zip(members, bought, strict=True)),
    )
    assert not [r for r in results if isinstance(r, Exception)]
    async with db.session_scope() as session:
        store = await session.get_one(Store, shop.store.id)
        granted = await session.scalar(
            select(func.count())
            .select_from(CurationDecision)
            .where(CurationDecision.store_id == shop.store.id)
        )
    assert store.review_count == 6
    assert store.curated
    assert granted == 1  # granted once, whichever write tipped it
