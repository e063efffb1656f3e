"""The 精选 badge: granted only with both a good enough community score and a fresh passing
inspection; removed when either fails (an inspection ages out, the score falls, the store
leaves), each change recorded once with its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from redcard.curation import inspections, reviews, tasks
from redcard.curation.rules import Rules
from redcard.kit import time as clock
from redcard.models import CurationDecision, Store, StoreStatus
from tests.curation.helpers import inspection, inspection_json, purchase
from tests.fixtures.factories import card_holders, idem, login, new_operator, new_till_shop

NOON = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)
RULES = Rules(
    min_score=4.2, min_reviews=5, prior_reviews=10, half_life_days=180, inspection_max_days=365
)


async def _store(db, store_id) -> Store:
    async with db.session_scope() as session:
        return await session.get_one(Store, store_id)


async def _decisions(db, store_id) -> list[tuple[str, str]]:
    async with db.session_scope() as session:
        rows = await session.scalars(
            select(CurationDecision)
            .where(CurationDecision.store_id == store_id)
            .order_by(CurationDecision.created_at, CurationDecision.id)
        )
        return [(d.action, d.reason) for d in rows]


async def _reviewed(db, store, members, stars: list[int]) -> None:
    for member, n in zip(members, stars, strict=False):
        bought = await purchase(db, store, member)
        async with db.session_scope() as session:
            await reviews.write_review(session, member, bought.id, n, "", rules=RULES)


async def _city(db, members) -> None:
    """Another store whose middling reviews set the city mean near 3.5."""
    other = await new_till_shop(db, name="隔壁")
    await _reviewed(db, other.store, members, [3, 4] * (len(members) // 2))


async def _inspect(db, store_id, on, **kwargs):
    operator = await new_operator(db)
    async with db.session_scope() as session:
        return await inspections.record_inspection(
            session, operator, store_id, inspection(on, **kwargs), rules=RULES
        )


async def _run_worker_step(db) -> int:
    async with db.session_scope() as session:
        return await tasks.run_step(session, RULES)


async def test_no_badge_without_a_passing_inspection(db):
    clock.freeze(NOON)
    members = await card_holders(db, 30)
    shop = await new_till_shop(db)
    await _reviewed(db, shop.store, members, [5] * 30)
    store = await _store(db, shop.store.id)
    assert store.score is not None
    assert store.score >= 4.2
    assert store.review_count == 30
    assert not store.curated
    await _inspect(db, shop.store.id, clock.today(), fail=("hygiene",))
    assert not (await _store(db, shop.store.id)).curated
    # the inspector's own "fail" fails it too, every item ticked
    await _inspect(db, shop.store.id, clock.today(), passed=False)
    assert not (await _store(db, shop.store.id)).curated
    assert await _decisions(db, shop.store.id) == []  # nothing changed, nothing recorded

    recorded = await _inspect(db, shop.store.id, clock.today() - timedelta(days=1))
    assert recorded.inspection.passed
    assert not (await _store(db, shop.store.id)).curated  # a later failure outweighs it

    await _inspect(db, shop.store.id, clock.today())
    store = await _store(db, shop.store.id)
    assert store.curated
    assert store.curated_at == NOON
    assert store.inspected_on == clock.today()
    assert await _decisions(db, shop.store.id) == [("granted", "score_and_inspection")]


async def test_an_expired_inspection_removes_the_badge(db):
    clock.freeze(NOON)
    members = await card_holders(db, 12)
    shop = await new_till_shop(db)
    await _reviewed(db, shop.store, members, [5] * 12)
    await _inspect(db, shop.store.id, clock.today() - timedelta(days=300))
    assert (await _store(db, shop.store.id)).curated

    clock.advance(timedelta(days=60))  # 360 days old: still counts
    assert await _run_worker_step(db) == 1
    assert await _run_worker_step(db) == 0  # once per business day
    assert (await _store(db, shop.store.id)).curated

    clock.advance(timedelta(days=6))  # 366 days old
    await _run_worker_step(db)
    store = await _store(db, shop.store.id)
    assert not store.curated
    assert store.curated_at is None
    assert await _decisions(db, shop.store.id) == [
        ("granted", "score_and_inspection"),
        ("removed", "inspection_expired"),
    ]
    async with db.session_scope() as session:
        removal = await session.scalar(
            select(CurationDecision).where(CurationDecision.action == "removed")
        )
    assert removal.review_count == 12
    assert removal.score == store.score
    assert removal.inspection_id is not None
    assert removal.decided_by is None
    await _run_worker_step(db)
    assert len(await _decisions(db, shop.store.id)) == 2  # no change, no new decision


async def test_a_falling_score_removes_the_badge(db):
    clock.freeze(NOON)
    members = await card_holders(db, 40)
    await _city(db, members[:10])
    shop = await new_till_shop(db)
    await _reviewed(db, shop.store, members[10:20], [5] * 10)
    await _inspect(db, shop.store.id, clock.today())
    before = await _store(db, shop.store.id)
    assert before.curated

    await _reviewed(db, shop.store, members[20:40], [2] * 20)
    after = await _store(db, shop.store.id)
    assert after.score < 4.2 < before.score
    assert not after.curated
    assert await _decisions(db, shop.store.id) == [
        ("granted", "score_and_inspection"),
        ("removed", "score_below_bar"),
    ]


async def test_recency_lets_old_complaints_fade(db):
    """Old bad reviews lose weight with time: the daily re-evaluation raises the score."""
    clock.freeze(NOON - timedelta(days=720))
    members = await card_holders(db, 30)
    shop = await new_till_shop(db)
    await _reviewed(db, shop.store, members[:10], [1] * 10)
    clock.freeze(NOON)
    await _reviewed(db, shop.store, members[10:30], [5] * 20)
    fresh = (await _store(db, shop.store.id)).score
    clock.advance(timedelta(days=360))
    await _run_worker_step(db)
    later = (await _store(db, shop.store.id)).score
    assert fresh is not None
    assert later is not None
    assert later != fresh


async def test_a_store_that_leaves_loses_the_badge_on_the_next_pass(db):
    clock.freeze(NOON)
    members = await card_holders(db, 8)
    shop = await new_till_shop(db)
    await _reviewed(db, shop.store, members, [5] * 8)
    await _inspect(db, shop.store.id, clock.today())
    assert (await _store(db, shop.store.id)).curated
    async with db.session_scope() as session:
        (await session.get_one(Store, shop.store.id)).status = StoreStatus.paused
    assert await _run_worker_step(db) >= 1
    assert not (await _store(db, shop.store.id)).curated
    assert (await _decisions(db, shop.store.id))[-1] == ("removed", "store_not_live")


async def test_a_hidden_review_can_cost_the_badge(client, db):
    clock.freeze(NOON)
    members = await card_holders(db, 5)
    shop = await new_till_shop(db)
    await _reviewed(db, shop.store, members, [5] * 5)
    operator = await new_operator(db)
    headers = await login(client, operator)
    done = await client.post(
        f"/api/v1/operator/stores/{shop.store.id}/inspections",
        json=inspection_json(clock.today()),
        headers=headers | idem(),
    )
    assert done.status_code == 201, done.text
    assert (await _store(db, shop.store.id)).curated
    async with db.session_scope() as session:
        [review] = await reviews.member_reviews(session, members[0].id)
    hidden = await client.post(
        f"/api/v1/operator/reviews/{review.id}/hide",
        json={"reason": "刷单"},
        headers=headers | idem(),
    )
    assert hidden.status_code == 200
    assert not (await _store(db, shop.store.id)).curated  # 4 reviews left: too few
    history = await client.get(f"/api/v1/operator/stores/{shop.store.id}/curation", headers=headers)
    body = history.json()
    assert [d["reason"] for d in body["decisions"]] == ["too_few_reviews", "score_and_inspection"]
    assert body["decisions"][0]["decided_by"] == str(operator.id)
    assert len(body["inspections"]) == 1


async def test_a_future_or_incomplete_inspection_is_refused(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    headers = await login(client, await new_operator(db))
    url = f"/api/v1/operator/stores/{shop.store.id}/inspections"
    future = inspection_json(clock.today() + timedelta(days=1))
    assert (await client.post(url, json=future, headers=headers | idem())).status_code == 422
    partial = inspection_json(clock.today())
    del partial["checklist"]["hygiene"]
    assert (await client.post(url, json=partial, headers=headers | idem())).status_code == 422
    nameless = inspection_json(clock.today(), inspector=" ")
    assert (await client.post(url, json=nameless, headers=headers | idem())).status_code == 422
    history = await client.get(f"/api/v1/operator/stores/{shop.store.id}/curation", headers=headers)
    assert history.json()["inspections"] == []


async def test_one_bad_store_never_stops_the_others(db, monkeypatch):
    clock.freeze(NOON)
    members = await card_holders(db, 4)
    bad, good = await new_till_shop(db, name="坏店"), await new_till_shop(db, name="好店")
    await _reviewed(db, bad.store, members[:2], [5, 5])
    await _reviewed(db, good.store, members[2:], [4, 4])
    clock.advance(timedelta(days=1))
    real = tasks.evaluate_store

    async def flaky(session, store_id, **kwargs):
        if store_id == bad.store.id:
            raise RuntimeError("a broken row")
        return await real(session, store_id, **kwargs)

    monkeypatch.setattr(tasks, "evaluate_store", flaky)
    assert await _run_worker_step(db) == 1
    tomorrow = clock.today() + timedelta(days=1)
    assert (await _store(db, good.store.id)).curation_due_on == tomorrow
    assert (await _store(db, bad.store.id)).curation_due_on == tomorrow  # set aside a day
    assert await _run_worker_step(db) == 0


async def test_the_worker_runs_the_curation_step(db, settings, channels):
    from redcard.worker import Worker

    clock.freeze(NOON)
    members = await card_holders(db, 5)
    shop = await new_till_shop(db)
    await _reviewed(db, shop.store, members, [5] * 5)
    await _inspect(db, shop.store.id, clock.today() - timedelta(days=360))
    assert (await _store(db, shop.store.id)).curated
    clock.advance(timedelta(days=10))
    worker = Worker(settings, db, channels)
    assert "curation" in dict(worker.steps())
    await worker.run_until_idle()
    assert not (await _store(db, shop.store.id)).curated
    assert (await _decisions(db, shop.store.id))[-1] == ("removed", "inspection_expired")
