"""The demo's curated city: real purchases at the till, their reviews, inspections and badge
decisions in time order, so the 精选 list is believable and each badge has its reasons."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from redcard.curation import demo
from redcard.merchants import demo as merchants_demo
from redcard.models import (
    CurationDecision,
    Redemption,
    RedemptionStatus,
    Store,
    StoreInspection,
    StoreReview,
)
from tests.fixtures.factories import create_operator, setup_plans


async def test_the_demo_curates_a_believable_list_with_its_reasons(db):
    await setup_plans(db)
    async with db.session_scope() as session:
        operator = await create_operator(session)
        assert await merchants_demo.seed_stores(session) > 900
    written = await demo.seed(db, password="demo-password", operator_phone=operator.phone)
    assert 150 <= written <= 300

    async with db.session_scope() as session:
        curated = (await session.scalars(select(Store).where(Store.curated))).all()
        reviewed = (await session.scalars(select(Store).where(Store.review_count > 0))).all()
        purchases = await session.scalar(
            select(func.count())
            .select_from(StoreReview)
            .join(Redemption, Redemption.id == StoreReview.redemption_id)
            .where(
                Redemption.status == RedemptionStatus.committed,
                Redemption.member_id == StoreReview.member_id,
                Redemption.store_id == StoreReview.store_id,
            )
        )
        removals = Counter(
            (
                await session.scalars(
                    select(CurationDecision.reason).where(CurationDecision.action == "removed")
                )
            ).all()
        )
        failed = await session.scalar(
            select(func.count())
            .select_from(StoreInspection)
            .where(StoreInspection.passed.is_(False))
        )
    assert purchases == written  # every review stands on its own committed purchase
    assert len(reviewed) == 30
    assert 15 <= len(curated) <= 25
    districts = Counter(s.district for s in reviewed)
    assert districts["黄浦区"] + districts["静安区"] + districts["徐汇区"] >= 25
    assert all(s.score is not None and s.score >= 4.2 and s.review_count >= 5 for s in curated)
    assert {s.score for s in reviewed if not s.curated and s.score is not None}  # some fall short
    assert removals["inspection_expired"] == 1
    assert removals["inspection_failed"] == 1
    assert failed == 1

    again = await demo.seed(db, password="demo-password", operator_phone=operator.phone)
    assert again == 0
