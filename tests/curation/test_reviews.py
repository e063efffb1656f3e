"""Reviews: only after a committed purchase, one per purchase, by its member; a hidden review
counts nowhere and its author sees why; the store's figures follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from redcard.curation import reviews
from redcard.curation.score import refresh_store
from redcard.errors import AppError
from redcard.kit import time as clock
from redcard.models import RedemptionStatus, Store, StoreReview
from tests.curation.helpers import purchase, till_purchase
from tests.fixtures.factories import (
    count,
    idem,
    login,
    new_card_holder,
    new_operator,
    new_till_shop,
)

NOON = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)


async def _store(db, store_id) -> Store:
    async with db.session_scope() as session:
        return await session.get_one(Store, store_id)


async def test_a_member_reviews_a_purchase_made_at_the_till(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db, name="小明")
    headers = await login(client, member)
    bought = await till_purchase(client, db, shop, member)

    async with db.session_scope() as session:
        open_ = await reviews.reviewable_purchases(session, member.id, shop.store.id)
    assert [str(r.id) for r in open_] == [bought["id"]]

    response = await client.post(
        f"/api/v1/stores/{shop.store.id}/reviews",
        json={"redemption_id": bought["id"], "stars": 5, "body": "生煎很香，会员折扣当场就给了"},
        headers=headers | idem(),
    )
    assert response.status_code == 201, response.text
    store = await _store(db, shop.store.id)
    assert (store.review_count, store.rating_avg, store.score) == (1, 5.0, 5.0)
    assert store.last_review_at == NOON

    public = await client.get(f"/api/v1/stores/{shop.store.id}/reviews")
    assert public.status_code == 200
    [shown] = public.json()["items"]
    assert shown["author"] == "小*"
    assert shown["purchased_on"] == "2026-11-25"
    assert "phone" not in shown
    assert member.phone not in public.text

    async with db.session_scope() as session:
        assert await reviews.reviewable_purchases(session, member.id, shop.store.id) == []


async def test_one_review_per_purchase(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    headers = await login(client, member)
    bought = await till_purchase(client, db, shop, member)
    url = f"/api/v1/stores/{shop.store.id}/reviews"
    body = {"redemption_id": bought["id"], "stars": 4, "body": "好"}
    key = idem()
    first = await client.post(url, json=body, headers=headers | key)
    assert first.status_code == 201
    replay = await client.post(url, json=body, headers=headers | key)  # a double tap
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    again = await client.post(url, json=body | {"stars": 1}, headers=headers | idem())
    assert again.status_code == 409
    assert again.json()["error"] == "AlreadyReviewed"
    assert await count(db, StoreReview) == 1
    assert (await _store(db, shop.store.id)).rating_avg == 4.0


async def test_no_review_without_a_committed_purchase_of_ones_own(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    other_shop = await new_till_shop(db, name="别家")
    member = await new_card_holder(db)
    stranger = await new_card_holder(db, name="路人")
    headers = await login(client, member)
    url = f"/api/v1/stores/{shop.store.id}/reviews"

    prepared = await till_purchase(client, db, shop, member, commit=False)
    refused = await client.post(
        url, json={"redemption_id": prepared["id"], "stars": 5}, headers=headers | idem()
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "PurchaseNotCompleted"

    clock.advance(timedelta(minutes=1))
    undone = await purchase(db, shop.store, member, status=RedemptionStatus.undone)
    refused = await client.post(
        url, json={"redemption_id": str(undone.id), "stars": 5}, headers=headers | idem()
    )
    assert refused.status_code == 409

    theirs = await purchase(db, shop.store, stranger)
    refused = await client.post(
        url, json={"redemption_id": str(theirs.id), "stars": 5}, headers=headers | idem()
    )
    assert refused.status_code == 403

    elsewhere = await purchase(db, other_shop.store, member)
    refused = await client.post(
        url, json={"redemption_id": str(elsewhere.id), "stars": 5}, headers=headers | idem()
    )
    assert refused.status_code == 422

    mine = await purchase(db, shop.store, member)
    for bad in ({"stars": 0}, {"stars": 6}, {"stars": 5, "body": "好" * 1001}):
        refused = await client.post(
            url, json={"redemption_id": str(mine.id)} | bad, headers=headers | idem()
        )
        assert refused.status_code == 422, bad
    assert await count(db, StoreReview) == 0
    assert (await _store(db, shop.store.id)).review_count == 0

    operator = await new_operator(db)
    as_operator = await client.post(
        url,
        json={"redemption_id": str(mine.id), "stars": 5},
        headers=await login(client, operator) | idem(),
    )
    assert as_operator.status_code == 403


async def test_a_hidden_review_counts_nowhere_and_its_author_sees_why(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    fan, critic = await new_card_holder(db, name="小粉"), await new_card_holder(db, name="小黑")
    for member, stars in ((fan, 5), (critic, 1)):
        bought = await purchase(db, shop.store, member)
        async with db.session_scope() as session:
            await reviews.write_review(session, member, bought.id, stars, "")
    store = await _store(db, shop.store.id)
    assert (store.review_count, store.rating_avg) == (2, 3.0)
    assert store.score == 3.0  # the city mean is these two reviews' mean

    operator = await new_operator(db)
    async with db.session_scope() as session:
        critic_review = await session.scalar(
            select(StoreReview).where(StoreReview.member_id == critic.id)
        )
    hide = await client.post(
        f"/api/v1/operator/reviews/{critic_review.id}/hide",
        json={"reason": "与消费无关的广告内容"},
        headers=await login(client, operator) | idem(),
    )
    assert hide.status_code == 200, hide.text
    store = await _store(db, shop.store.id)
    assert (store.review_count, store.rating_avg, store.score) == (1, 5.0, 5.0)
    listed = (await client.get(f"/api/v1/stores/{shop.store.id}/reviews")).json()
    assert [r["stars"] for r in listed["items"]] == [5]
    assert listed["total"] == 1

    mine = await client.get("/api/v1/me/reviews", headers=await login(client, critic))
    [own] = mine.json()
    assert own["hidden_reason"] == "与消费无关的广告内容"
    assert own["hidden_at"]
    assert own["store_name"] == shop.store.name

    no_reason = await client.post(
        f"/api/v1/operator/reviews/{critic_review.id}/hide",
        json={"reason": "  "},
        headers=await login(client, operator) | idem(),
    )
    assert no_reason.status_code == 422


async def test_a_review_of_a_purchase_undone_later_stops_counting(db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    bought = await purchase(db, shop.store, member)
    async with db.session_scope() as session:
        await reviews.write_review(session, member, bought.id, 2, "")
    async with db.session_scope() as session:
        row = await session.get_one(type(bought), bought.id)
        row.status = RedemptionStatus.undone
    async with db.session_scope() as session:
        await refresh_store(session, shop.store.id)
    store = await _store(db, shop.store.id)
    assert (store.review_count, store.score) == (0, None)
    async with db.session_scope() as session:
        assert await reviews.visible_reviews(session, shop.store.id) == []


@pytest.mark.parametrize("name", ["小红", "A", " 王五 "])
def test_authors_are_masked(name: str):
    assert reviews.mask_name(name) == name.strip()[0] + "*"


async def test_service_refusals_change_nothing(db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    bought = await purchase(db, shop.store, member)
    for stars, body in ((0, ""), (5, "x" * 1001), (True, "")):
        with pytest.raises(AppError):
            async with db.session_scope() as session:
                await reviews.write_review(session, member, bought.id, stars, body)  # type: ignore[arg-type]
    assert await count(db, StoreReview) == 0
