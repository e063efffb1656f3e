"""Refund policies are pure functions: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def test_self_service_only_within_cooling_off():
    inside = self_service_quote(
        RefundPolicy.full,
        7,
        paid_fen=16800,
        starts_at=START,
        ends_at=END,
        at=START + timedelta(days=6, hours=23),
    )
    assert inside.allowed
    assert inside.amount_fen == 16800
    after = self_service_quote(
        RefundPolicy.full,
        7,
        paid_fen=16800,
        starts_at=START,
        ends_at=END,
        at=START + timedelta(days=7),
    )
    assert not after.allowed
    assert after.reason == "the cooling-off period has ended"
    used_up = self_service_quote(
        RefundPolicy.paid_minus_benefits,
        7,
        paid_fen=16800,
        starts_at=START,
        ends_at=END,
        at=START + timedelta(days=1),
        benefits_fen=17000,
    )
    assert not used_up.allowed
