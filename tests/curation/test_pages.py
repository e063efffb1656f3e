"""Curation pages: the operator's ranked candidates and a store's curation (record an
inspection, hide a review with a reason), refused to everyone else; the member's 我们如何挑选
page with the thresholds in force, and their own reviews."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from redcard.app import create_app
from redcard.curation import reviews
from redcard.kit import time as clock
from redcard.models import CurationDecision, Store, StoreReview
from tests.curation.helpers import inspection_json, purchase
from tests.fixtures.factories import card_holders, idem, login, new_operator, new_till_shop

HTML = {"accept": "text/html"}
NOON = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)
CSRF = "csrf-token-curation"


@pytest.fixture
def csrf(client):
    client.cookies.set("redcard_csrf", CSRF)
    yield {"csrf": CSRF}
    client.cookies.delete("redcard_csrf")


async def _reviewed_store(db, stars: list[int], name: str = "小杨生煎"):
    shop = await new_till_shop(db, name=name)
    members = await card_holders(db, len(stars), quick=False)
    for member, n in zip(members, stars, strict=True):
        bought = await purchase(db, shop.store, member)
        async with db.session_scope() as session:
            await reviews.write_review(session, member, bought.id, n, f"{n} 星，味道不错")
    return shop, members


async def test_operator_records_an_inspection_and_hides_a_review_on_the_pages(client, db, csrf):
    clock.freeze(NOON)
    shop, members = await _reviewed_store(db, [5, 5, 5, 5, 5, 4])
    other, _ = await _reviewed_store(db, [2, 3], name="别家面馆")
    operator = await login(client, await new_operator(db))

    listing = await client.get("/operator/curation", headers=HTML | operator)
    assert listing.status_code == 200
    text = listing.text
    assert text.index(f'data-store="{shop.store.id}"') < text.index(
        f'data-store="{other.store.id}"'
    )
    assert "尚未实地探店" in text  # why not: no inspection yet

    page = await client.get(f"/operator/curation/stores/{shop.store.id}", headers=HTML | operator)
    assert page.status_code == 200
    assert "记录一次探店" in page.text

    form = csrf | {
        "idempotency_key": "inspection-key-1",
        "inspected_on": clock.today().isoformat(),
        "inspector": "王检查",
        "passed": "yes",
        "notes": "折扣当场给到",
    }
    form |= {f"item_{key}": "pass" for key in inspection_json(clock.today())["checklist"]}
    done = await client.post(
        f"/operator/curation/stores/{shop.store.id}/inspections", data=form, headers=HTML | operator
    )
    assert done.status_code == 303
    page = await client.get(f"/operator/curation/stores/{shop.store.id}", headers=HTML | operator)
    assert 'data-curated="yes"' in page.text
    assert 'data-decision="score_and_inspection"' in page.text
    assert "社区评分达标且实地探店通过" in page.text

    future = form | {"idempotency_key": "inspection-key-2", "inspected_on": "2099-01-01"}
    refused = await client.post(
        f"/operator/curation/stores/{shop.store.id}/inspections",
        data=future,
        headers=HTML | operator,
    )
    assert refused.status_code == 422
    assert "探店日期不能晚于今天" in refused.text

    async with db.session_scope() as session:
        [review] = await reviews.member_reviews(session, members[0].id)
    hide = csrf | {"idempotency_key": "hide-key-1", "store_id": str(shop.store.id)}
    no_reason = await client.post(
        f"/operator/curation/reviews/{review.id}/hide", data=hide, headers=HTML | operator
    )
    assert no_reason.status_code == 422
    assert "请填写理由" in no_reason.text
    hidden = await client.post(
        f"/operator/curation/reviews/{review.id}/hide",
        data=hide | {"idempotency_key": "hide-key-2", "reason": "与本次消费无关"},
        headers=HTML | operator,
    )
    assert hidden.status_code == 303
    async with db.session_scope() as session:
        store = await session.get_one(Store, shop.store.id)
        row = await session.get_one(StoreReview, review.id)
        removal = await session.scalar(
            select(CurationDecision).where(CurationDecision.action == "removed")
        )
    assert row.hidden_reason == "与本次消费无关"
    assert store.review_count == 5
    assert store.curated == (removal is None)

    mine = await client.get("/me/reviews", headers=HTML | await login(client, members[0]))
    assert mine.status_code == 200
    assert "已被运营隐藏：与本次消费无关" in mine.text
    assert shop.store.name in mine.text


async def test_curation_pages_and_api_refuse_everyone_but_operators(client, db, csrf):
    clock.freeze(NOON)
    shop, members = await _reviewed_store(db, [5])
    member = await login(client, members[0])
    staff = await login(client, shop.staff)
    async with db.session_scope() as session:
        [review] = await reviews.member_reviews(session, members[0].id)
    for who in (member, staff):
        for path in ("/operator/curation", f"/operator/curation/stores/{shop.store.id}"):
            assert (await client.get(path, headers=HTML | who)).status_code == 403
        posted = await client.post(
            f"/operator/curation/reviews/{review.id}/hide",
            data=csrf | {"reason": "x", "idempotency_key": "hide-key-9"},
            headers=HTML | who,
        )
        assert posted.status_code == 403
        api = [
            await client.get("/api/v1/operator/curation/candidates", headers=who),
            await client.get(f"/api/v1/operator/stores/{shop.store.id}/curation", headers=who),
            await client.post(
                f"/api/v1/operator/stores/{shop.store.id}/inspections",
                json=inspection_json(clock.today()),
                headers=who | idem(),
            ),
            await client.post(
                f"/api/v1/operator/reviews/{review.id}/hide",
                json={"reason": "x"},
                headers=who | idem(),
            ),
        ]
        assert [r.status_code for r in api] == [403] * 4
    client.cookies.clear()
    client.cookies.set("redcard_csrf", CSRF)
    visitor = await client.get("/operator/curation", headers=HTML)
    assert visitor.status_code == 303
    assert visitor.headers["location"].startswith("/login")
    assert (await client.get("/api/v1/operator/curation/candidates")).status_code == 401
    async with db.session_scope() as session:
        assert (await session.get_one(StoreReview, review.id)).hidden_at is None


async def test_candidates_api_ranks_and_filters(client, db):
    clock.freeze(NOON)
    best, _ = await _reviewed_store(db, [5, 5, 5])
    worse, _ = await _reviewed_store(db, [2, 2], name="别家面馆")
    operator = await login(client, await new_operator(db))
    listed = (await client.get("/api/v1/operator/curation/candidates", headers=operator)).json()
    assert [c["store_id"] for c in listed["items"]] == [str(best.store.id), str(worse.store.id)]
    assert listed["items"][0]["blocking"] == ["too_few_reviews", "no_inspection"]
    filtered = await client.get(
        "/api/v1/operator/curation/candidates?district=黄浦区", headers=operator
    )
    assert filtered.json()["items"] == []  # the test stores are in 静安区


async def test_how_we_pick_shows_the_thresholds_in_force(client, db, settings, database, channels):
    page = await client.get("/how-we-pick", headers=HTML)
    assert page.status_code == 200
    assert "我们如何挑选" in page.text
    assert "社区评分不低于 4.2" in page.text
    assert "至少 5 条会员评价" in page.text
    assert "最近 365 天内有一次通过的实地探店" in page.text
    assert "每过 180 天减半" in page.text

    stricter = settings.model_copy(
        update={
            "curation_min_score": 4.5,
            "curation_min_reviews": 12,
            "curation_inspection_max_days": 180,
            "curation_half_life_days": 90,
            "curation_prior_reviews": 20,
        }
    )
    app = create_app(stricter, db=database, channels=channels)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
        changed = await other.get("/how-we-pick", headers=HTML)
        other.cookies.set("redcard_lang", "en")
        english = await other.get("/how-we-pick", headers=HTML)
    assert "社区评分不低于 4.5" in changed.text
    assert "至少 12 条会员评价" in changed.text
    assert "最近 180 天内有一次通过的实地探店" in changed.text
    assert "每过 90 天减半" in changed.text
    assert "多了 20 条" in changed.text
    assert "A community score of at least 4.5" in english.text
