"""The community score on known numbers, and the badge's decision on known facts (no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from redcard.curation.badge import Facts, InspectionFact, Reason, decide
from redcard.curation.rules import Rules
from redcard.curation.score import community_score

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
RULES = Rules(
    min_score=4.2, min_reviews=5, prior_reviews=10, half_life_days=180, inspection_max_days=365
)


def test_fresh_reviews_are_shrunk_toward_the_city_mean_by_the_prior():
    reviews = [(5, NOW)] * 10
    # (10 * 4.0 + 10 * 5) / (10 + 10)
    assert community_score(reviews, 4.0, prior=10, half_life_days=180, now=NOW) == 4.5
    # no prior: the store's own mean
    assert community_score(reviews, 4.0, prior=0, half_life_days=180, now=NOW) == 5.0


def test_a_review_one_half_life_old_weighs_half():
    old = NOW - timedelta(days=180)
    reviews = [(5, NOW), (1, old)]
    # (2 * 3.0 + 1 * 5 + 0.5 * 1) / (2 + 1 + 0.5) = 11.5 / 3.5
    assert community_score(reviews, 3.0, prior=2, half_life_days=180, now=NOW) == round(
        11.5 / 3.5, 3
    )
    # the same reviews both fresh weigh alike: (6 + 5 + 1) / 4
    assert community_score([(5, NOW), (1, NOW)], 3.0, prior=2, half_life_days=180, now=NOW) == 3.0


def test_few_reviews_stay_near_the_mean_many_move_away():
    few = community_score([(5, NOW)] * 2, 4.0, prior=10, half_life_days=180, now=NOW)
    many = community_score([(5, NOW)] * 100, 4.0, prior=10, half_life_days=180, now=NOW)
    assert few is not None
    assert many is not None
    assert 4.0 < few < many < 5.0
    assert few == round((10 * 4.0 + 2 * 5) / 12, 3)


def test_no_reviews_no_score():
    assert community_score([], 4.0, prior=10, half_life_days=180, now=NOW) is None


def _facts(**overrides: object) -> Facts:
    base: dict[str, object] = {
        "live": True,
        "score": 4.5,
        "review_count": 8,
        "inspection": InspectionFact(uuid.uuid4(), date(2026, 6, 1), True),
    }
    return Facts(**(base | overrides))  # type: ignore[arg-type]


def test_badge_needs_score_reviews_and_a_fresh_passing_inspection():
    today = date(2026, 12, 1)
    assert decide(_facts(), RULES, today).curated
    assert decide(_facts(), RULES, today).reason == Reason.score_and_inspection
    cases = {
        Reason.store_not_live: _facts(live=False),
        Reason.too_few_reviews: _facts(review_count=4),
        Reason.score_below_bar: _facts(score=4.199),
        Reason.no_inspection: _facts(inspection=None),
        Reason.inspection_failed: _facts(
            inspection=InspectionFact(uuid.uuid4(), date(2026, 11, 1), False)
        ),
        Reason.inspection_expired: _facts(
            inspection=InspectionFact(uuid.uuid4(), today - timedelta(days=366), True)
        ),
    }
    for reason, facts in cases.items():
        verdict = decide(facts, RULES, today)
        assert not verdict.curated
        assert verdict.reasons == (reason,)


@pytest.mark.parametrize(("age", "curated"), [(365, True), (366, False)])
def test_an_inspection_counts_for_exactly_its_age(age: int, curated: bool):
    today = date(2026, 12, 1)
    facts = _facts(inspection=InspectionFact(uuid.uuid4(), today - timedelta(days=age), True))
    assert decide(facts, RULES, today).curated is curated


def test_the_bar_itself_passes():
    assert decide(_facts(score=4.2, review_count=5), RULES, date(2026, 12, 1)).curated
