from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redcard.kit.money import (
    MAX_BILL_FEN,
    MoneyError,
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
