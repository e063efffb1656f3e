from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redcard.kit.money import (
    MAX_BILL_FEN,
    PERCENT_WORDS,
    YUAN_WORDS,
    MoneyError,
    amount_off_words,
    card_discount,
    discount_fen,
    discount_words,
    fee_fen,
    format_fen,
    parse_fixed,
    parse_percent_bp,
    parse_yuan,
)
from redcard.kit.time import HOURS_WORDS, parse_hours
from redcard.web.i18n import translations


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
        ("1,250", 125000),  # "," between groups of three digits: thousands
        ("1,250.5", 125050),
        ("99,999,999.99", MAX_BILL_FEN),
        ("１，２５０．５０", 125050),  # full-width comma and point
        ("007.10", 710),
        ("\u00a012.5\u3000", 1250),  # no-break and ideographic spaces around it
    ],
)
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["-1", "1.001", "abc", "", "1e3", "100000000", "１.２３４"])
def test_parse_yuan_refuses(text):
    with pytest.raises(MoneyError):
        parse_yuan(text)


def _refusal(parse: Callable[[str], object], text: str) -> str:
    with pytest.raises(MoneyError) as refused:
        parse(text)
    return str(refused.value)


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("12,50", "comma"),  # ¥12.50 with a decimal comma, or ¥1,250?
        (",5", "comma"),
        ("5,", "comma"),
        ("1,2345", "comma"),
        ("1234,567", "comma"),
        ("1,234,56", "comma"),
        ("1.234,56", "comma"),
        ("1,250.5,0", "comma"),
        ("1.234", "malformed"),  # "." is never a thousands separator: too many decimals
        ("12.345", "malformed"),
        ("5.", "point"),
        (".5", "point"),
        ("-5", "negative"),
        ("-0.5", "negative"),
        ("--5", "malformed"),
        ("+5", "malformed"),
        ("¥", "malformed"),
        ("¥12", "malformed"),
        ("1 000", "malformed"),
        ("1e3", "malformed"),
        ("1.2.3", "malformed"),
        ("nan", "malformed"),
        ("inf", "malformed"),
        ("١٢", "malformed"),  # other scripts' digits are not read as 0-9
        ("", "malformed"),
        ("   ", "malformed"),
        ("100000000", "too_large"),
        ("100,000,000", "too_large"),
        ("9" * 5000, "too_large"),
    ],
)
def test_parse_yuan_says_what_is_wrong(text, fault):
    assert _refusal(parse_yuan, text) == getattr(YUAN_WORDS, fault)


def test_parse_yuan_reads_long_leading_zeros_exactly():
    assert parse_yuan("0" * 5000 + "1.5") == 150


@pytest.mark.parametrize(
    ("text", "bp"),
    [("12", 1200), ("12.5", 1250), ("12.25", 1225), ("１２．５", 1250), ("0", 0), ("100", 10000)],
)
def test_parse_percent_bp(text, bp):
    assert parse_percent_bp(text) == bp


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("12,5", "comma"),
        ("1,000", "comma"),  # a percentage has no thousands
        ("12.345", "malformed"),
        ("12%", "malformed"),
        ("1e1", "malformed"),
        ("", "malformed"),
        ("-5", "negative"),
        ("100.01", "too_large"),
    ],
)
def test_parse_percent_bp_says_what_is_wrong(text, fault):
    assert _refusal(parse_percent_bp, text) == getattr(PERCENT_WORDS, fault)


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("2", timedelta(hours=2)),
        ("1.75", timedelta(hours=1, minutes=45)),
        ("0.01", timedelta(seconds=36)),
        ("８７８４", timedelta(days=366)),
    ],
)
def test_parse_hours_is_exact(text, hours):
    assert parse_hours(text) == hours


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("1e3", "malformed"),
        ("inf", "malformed"),
        ("nan", "malformed"),
        ("1.255", "malformed"),
        ("2,5", "comma"),
        ("-2", "negative"),
        ("8784.01", "too_large"),
        ("9" * 5000, "too_large"),
    ],
)
def test_parse_hours_says_what_is_wrong(text, fault):
    assert _refusal(parse_hours, text) == getattr(HOURS_WORDS, fault)


def test_parse_fixed_with_no_decimals():
    assert parse_fixed("24", 0, maximum=100, words=YUAN_WORDS) == 24
    assert _refusal(lambda t: parse_fixed(t, 0, maximum=100, words=YUAN_WORDS), "1.5") == (
        YUAN_WORDS.malformed
    )
    assert _refusal(lambda t: parse_fixed(t, 0, maximum=100, words=YUAN_WORDS), "101") == (
        YUAN_WORDS.too_large
    )


@pytest.mark.parametrize("words", [YUAN_WORDS, PERCENT_WORDS, HOURS_WORDS])
def test_every_sentence_of_the_parsers_has_a_chinese_translation(words):
    zh = translations("zh_CN")
    for sentence in astuple(words):
        assert zh.gettext(sentence) != sentence, sentence


@given(st.integers(0, MAX_BILL_FEN))
def test_format_fen_reads_back(fen):
    assert parse_yuan(format_fen(fen, symbol="")) == fen


@given(st.text(alphabet="0123456789.,-+e ¥１，．", max_size=16))
def test_an_accepted_amount_is_its_decimal_value_exactly(text):
    try:
        fen = parse_yuan(text)
    except MoneyError:
        return
    assert fen == Decimal(text.strip().translate(_ASCII).replace(",", "")) * 100
    assert 0 <= fen <= MAX_BILL_FEN


_ASCII = str.maketrans("１，．", "1,.")


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


@pytest.mark.parametrize(
    ("bp", "zh", "en"),
    [
        (1000, "9折", "10% off"),
        (2000, "8折", "20% off"),
        (1700, "8.3折", "17% off"),
        (1500, "8.5折", "15% off"),
        (1250, "8.75折", "12.5% off"),
        (1225, "8.78折", "12.25% off"),  # 87.75% paid: rounded up, never promising more
        (1234, "8.77折", "12.34% off"),
        (9000, "1折", "90% off"),
        (1, "10折", "0.01% off"),  # 99.99% paid is 9.999折: up to 10, not down to 9.99
        (0, "原价", "no discount"),
        (10_000, "免单", "free"),
    ],
)
def test_discount_words(bp, zh, en):
    assert discount_words(bp, "zh_CN") == zh
    assert discount_words(bp, "en") == en


@pytest.mark.parametrize("bp", [-1, 10_001])
def test_discount_words_refuse_a_rate_out_of_range(bp):
    with pytest.raises(MoneyError):
        discount_words(bp, "zh_CN")


@given(st.integers(1, 9_999))
def test_zhe_never_promises_more_than_the_discount(bp):
    zhe = Decimal(discount_words(bp, "zh_CN").removesuffix("折"))
    paid = Decimal(10_000 - bp) / 1_000  # the exact share paid, in tenths
    assert paid <= zhe < paid + Decimal("0.01")
    assert zhe == zhe.quantize(Decimal("0.01"))  # at most two decimals
    if bp % 10 == 0:
        assert zhe == paid  # exact whenever two decimals can say it


@given(st.integers(1, 9_999))
def test_percent_off_reads_back_exactly(bp):
    assert parse_percent_bp(discount_words(bp, "en").removesuffix("% off")) == bp


def test_amount_off_words():
    assert amount_off_words(1250, "zh_CN") == "立减 ¥12.50"
    assert amount_off_words(123456, "en") == "¥1,234.56 off"
