"""Refund policies are pure functions: no database. The member's own refund is checked for
every policy with generated cards, times and savings (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redcard.membership.refund_policy import amount_for, self_service_quote
from redcard.models import RefundPolicy

START = datetime(2025, 9, 1, tzinfo=UTC)
END = START + timedelta(days=365)


def test_full_refunds_everything_paid():
    assert (
        amount_for(RefundPolicy.full, paid_fen=16800, starts_at=START, ends_at=END, at=END) == 16800
    )


def test_pro_rata_refunds_the_unused_share_rounding_down():
    at = START + timedelta(days=100)
    # 265/365 of 16800 = 12197.26... → 12197
    assert (
        amount_for(RefundPolicy.pro_rata, paid_fen=16800, starts_at=START, ends_at=END, at=at)
        == 12197
    )
    assert (
        amount_for(RefundPolicy.pro_rata, paid_fen=16800, starts_at=START, ends_at=END, at=END) == 0
    )
    before = START - timedelta(days=3)
    assert (
        amount_for(RefundPolicy.pro_rata, paid_fen=16800, starts_at=START, ends_at=END, at=before)
        == 16800
    )


def test_paid_minus_benefits_never_goes_below_zero():
    kw = {"paid_fen": 16800, "starts_at": START, "ends_at": END, "at": START}
    assert amount_for(RefundPolicy.paid_minus_benefits, benefits_fen=0, **kw) == 16800
    assert amount_for(RefundPolicy.paid_minus_benefits, benefits_fen=5000, **kw) == 11800
    assert amount_for(RefundPolicy.paid_minus_benefits, benefits_fen=20000, **kw) == 0


def test_self_service_is_full_within_cooling_off_and_the_policy_after_it():
    inside = self_service_quote(
        RefundPolicy.pro_rata,
        7,
        paid_fen=16800,
        starts_at=START,
        ends_at=END,
        at=START + timedelta(days=6, hours=23),
    )
    assert inside.allowed
    assert inside.within_cooling_off
    assert inside.amount_fen == 16800
    after = self_service_quote(
        RefundPolicy.pro_rata,
        7,
        paid_fen=16800,
        starts_at=START,
        ends_at=END,
        at=START + timedelta(days=100),
    )
    assert after.allowed
    assert not after.within_cooling_off
    assert after.amount_fen == 12197  # 265/365 of 16800, rounded down
    assert after.reason == "refund policy: pro_rata"
    used_up = self_service_quote(
        RefundPolicy.paid_minus_benefits,
        7,
        paid_fen=16800,
        starts_at=START,
        ends_at=END,
        at=START + timedelta(days=10),
        benefits_fen=17000,
    )
    assert not used_up.allowed
    assert used_up.amount_fen == 0
    assert used_up.reason == "nothing is left to refund"
    # within the cooling-off period the benefits used do not count
    early = self_service_quote(
        RefundPolicy.paid_minus_benefits,
        7,
        paid_fen=16800,
        starts_at=START,
        ends_at=END,
        at=START + timedelta(days=1),
        benefits_fen=17000,
    )
    assert early.allowed
    assert early.amount_fen == 16800


# -- properties of the member's own refund, for every policy -----------------------------------
PAID = st.integers(min_value=0, max_value=10_000_000)
DAYS = st.integers(min_value=1, max_value=1830)
COOLING = st.integers(min_value=0, max_value=365)
OFFSET = st.integers(min_value=-30 * 86400, max_value=2000 * 86400)  # seconds from the start
BENEFITS = st.integers(min_value=-1000, max_value=20_000_000)


def _quote(policy, cooling, paid, days, offset, benefits):  # type: ignore[no-untyped-def]
    return self_service_quote(
        policy,
        cooling,
        paid_fen=paid,
        starts_at=START,
        ends_at=START + timedelta(days=days),
        at=START + timedelta(seconds=offset),
        benefits_fen=benefits,
    )


@pytest.mark.parametrize("policy", list(RefundPolicy))
@given(paid=PAID, days=DAYS, cooling=COOLING, offset=OFFSET, benefits=BENEFITS)
def test_never_negative_never_above_what_was_paid(policy, paid, days, cooling, offset, benefits):
    quote = _quote(policy, cooling, paid, days, offset, benefits)
    assert 0 <= quote.amount_fen <= paid
    assert quote.allowed == (quote.amount_fen > 0)
    assert quote.paid_fen == paid


@pytest.mark.parametrize("policy", list(RefundPolicy))
@given(paid=PAID, days=DAYS, cooling=COOLING, offset=OFFSET, benefits=BENEFITS)
def test_everything_paid_within_cooling_off(policy, paid, days, cooling, offset, benefits):
    quote = _quote(policy, cooling, paid, days, offset, benefits)
    within = START + timedelta(seconds=offset) < START + timedelta(days=cooling)
    assert quote.within_cooling_off == within
    if within:
        assert quote.amount_fen == paid


@given(paid=PAID, days=DAYS, cooling=COOLING, offset=OFFSET, benefits=BENEFITS)
def test_after_cooling_off_paid_minus_benefits_is_what_the_ledger_saved(
    paid, days, cooling, offset, benefits
):
    quote = _quote(RefundPolicy.paid_minus_benefits, cooling, paid, days, offset, benefits)
    if not quote.within_cooling_off:
        assert quote.amount_fen == max(0, paid - max(0, benefits))
        assert quote.benefits_fen == max(0, benefits)


@given(paid=PAID, days=DAYS, cooling=COOLING, a=OFFSET, b=OFFSET)
def test_after_cooling_off_pro_rata_only_shrinks_with_time(paid, days, cooling, a, b):
    early, late = sorted((a, b))
    first = _quote(RefundPolicy.pro_rata, cooling, paid, days, early, 0)
    second = _quote(RefundPolicy.pro_rata, cooling, paid, days, late, 0)
    if not first.within_cooling_off:
        assert second.amount_fen <= first.amount_fen
    if late >= days * 86400 and not second.within_cooling_off:
        assert second.amount_fen == 0  # the term is used up


@given(paid=PAID, days=DAYS, cooling=COOLING, offset=OFFSET, benefits=BENEFITS)
def test_after_cooling_off_full_policy_refunds_everything(paid, days, cooling, offset, benefits):
    quote = _quote(RefundPolicy.full, cooling, paid, days, offset, benefits)
    assert quote.amount_fen == paid
