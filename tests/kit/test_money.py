from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redcard.kit.money import (
    MAX_BILL_FEN,
    MoneyError,
    card_discount,
    discount_fen,
    fee_fen,
    format_fen,
    parse_yuan,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("168", 16800),
        ("99.5", 9950),
        ("0.01", 1),
        ("１６８", 16800),
        ("1,234.56", 123456),
        (" 12 ", 1200),
        ("99999999.99", MAX_BILL_FEN),
        ("0", 0),
    ],
)
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["-1", "1.001", "abc", "", "1e3", "100000000", "１.２３４"])
def test_parse_yuan_refuses(text):
    with pytest.raises(MoneyError):
        parse_yuan(text)


def test_discount_rounds_down_and_caps():
    assert discount_fen(999, 1000) == 99  # 99.9 fen -> 99: the member never gets more
    assert discount_fen(1, 1000) == 0
    assert discount_fen(10_000, 1500, cap_fen=1000) == 1000
    assert fee_fen(16800, 60) == 101  # 100.8 -> 101, half up
    assert format_fen(123456) == "¥1,234.56"
    assert format_fen(-5) == "-¥0.05"


@given(
    st.integers(0, MAX_BILL_FEN),
    st.integers(0, 10_000),
    st.one_of(st.none(), st.integers(1, 10**9)),
)
def test_discount_and_charge_add_up(bill, rate, cap):
    d = discount_fen(bill, rate, cap)
    assert 0 <= d <= bill
    assert d <= bill * rate / 10_000
    assert cap is None or d <= cap
    assert d + (bill - d) == bill


def test_card_discount_leaves_excluded_items_and_small_bills_alone():
    terms = {"rate_bp": 1000, "cap_fen": None, "min_bill_fen": 5000}
    assert card_discount(12800, 3000, **terms) == 980  # 10% of the ¥98.00 outside 烟酒
    assert card_discount(8000, 3001, **terms) == 0  # ¥49.99 left: below the ¥50 minimum
    assert card_discount(8000, 3000, **terms) == 500
    with pytest.raises(MoneyError):
        card_discount(100, 101, **terms)
    with pytest.raises(MoneyError):
        card_discount(100, -1, **terms)


@given(
    st.integers(0, MAX_BILL_FEN),
    st.floats(0, 1),
    st.integers(0, 10_000),
    st.one_of(st.none(), st.integers(1, 10**9)),
    st.integers(0, 10**6),
)
def test_card_discount_never_touches_the_excluded_part(bill, share, rate, cap, minimum):
    excluded = int(bill * share)
    d = card_discount(bill, excluded, rate_bp=rate, cap_fen=cap, min_bill_fen=minimum)
    assert 0 <= d <= (bill - excluded) * rate / 10_000
    assert cap is None or d <= cap
    assert d == 0 or bill - excluded >= minimum
