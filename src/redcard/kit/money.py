"""Money is integer fen. Formatting happens at the edges only.

Rounding rule (the one rule, used everywhere a discount is computed):
the member's discount is rounded **down** to the whole fen, so the merchant never gives more
than the advertised rate and the amount charged is `bill - discount`, exact by construction.

A store's terms (`card_discount`): the rate applies to the part of the bill outside the store's
excluded categories (e.g. 烟酒, entered at the till); that part must reach the minimum bill;
the discount is then capped and rounded down as above.

What a person types (an amount, a percentage, hours) is read by `parse_fixed`, the one grammar
for typed numbers: exact integers of the smallest unit, never through float, and ambiguous
input such as "12,50" refused with a sentence saying why (`NumberWords`, translated by the page
catalogs). `parse_yuan`, `parse_percent_bp` and `kit.time.parse_hours` use it.

A discount is shown in the words shoppers use (`discount_words`, `amount_off_words`): in
Chinese the share of the price paid, in tenths ("9折" is 10% off, "8.3折" 17% off), and "立减
¥X" for an amount off a bill; in English "10% off" and "¥X off". 折 shows at most two decimals
(a hundredth of 折 is 10 basis points) and rounds the price paid **up** (1234 bp off, 87.66% paid,
is "8.77折"), so the words never promise more than the discount the member gets, the same
direction as the discount's own rounding. English percentages are exact (bp are 1/100 %).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

FEN_PER_YUAN = 100
MAX_BILL_FEN = 9_999_999_999  # ¥99,999,999.99
BASIS_POINTS = 10_000

_DIGITS = re.compile(r"[0-9]+\Z")  # ASCII only: \d would also take other scripts' digits
_GROUPS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+\Z")
_NEGATIVE = re.compile(r"-[0-9.,]")


class MoneyError(ValueError):
    """An amount that is not a valid, non-negative number of fen."""


def discount_fen(bill_fen: int, rate_bp: int, cap_fen: int | None = None) -> int:
    """Discount on a bill at `rate_bp` basis points off, rounded down, optionally capped."""
    if bill_fen < 0:
        raise MoneyError("bill must not be negative")
    if not 0 <= rate_bp <= BASIS_POINTS:
        raise MoneyError("rate must be between 0 and 10000 basis points")
    discount = bill_fen * rate_bp // BASIS_POINTS
    if cap_fen is not None:
        discount = min(discount, cap_fen)
    return discount


def card_discount(
    bill_fen: int,
    excluded_fen: int,
    *,
    rate_bp: int,
    cap_fen: int | None,
    min_bill_fen: int,
) -> int:
    """The card discount under a store's terms (see the module docstring); 0 below the minimum."""
    if not 0 <= excluded_fen <= bill_fen:
        raise MoneyError("the excluded part must be between 0 and the bill")
    eligible = bill_fen - excluded_fen
    if eligible < min_bill_fen:
        return 0
    return discount_fen(eligible, rate_bp, cap_fen)


def fee_fen(amount_fen: int, rate_bp: int) -> int:
    """A fee at `rate_bp` basis points, rounded half up to the fen (channels bill this way)."""
    return (amount_fen * rate_bp + BASIS_POINTS // 2) // BASIS_POINTS


@dataclass(frozen=True, slots=True)
class NumberWords:
    """What to tell a person about a number they typed: one whole sentence per fault, so the
    page catalogs (locale/zh_CN) translate each sentence as it stands."""

    malformed: str  # blank, not digits with an optional point, or too many decimals
    negative: str
    comma: str  # a "," that is not a thousands separator
    too_large: str
    point: str = "write digits on both sides of the decimal point, e.g. 0.50"  # "5.", ".5"


YUAN_WORDS = NumberWords(
    malformed="enter an amount in yuan with at most two decimals, e.g. 128.50",
    negative="the amount must not be negative",
    comma='"," is ambiguous here: write the decimal point as "." (128.50); '
    '"," may only separate groups of three digits (1,250.00)',
    too_large="amount is too large",
)
PERCENT_WORDS = NumberWords(
    malformed="enter a percentage with at most two decimals, e.g. 12.5",
    negative="a percentage must not be negative",
    comma='write a percentage with "." as the decimal point, e.g. 12.5',
    too_large="a percentage must be at most 100",
)


def parse_fixed(
    text: str, places: int, *, maximum: int, words: NumberWords, grouping: bool = False
) -> int:
    """A non-negative number typed by a person, as a whole count of 10**-places units
    ("12.5" with places=2 -> 1250). Exact: no float on the way, so every accepted string
    equals its decimal value scaled by 10**places. The one grammar for typed numbers:

    - full-width forms are read as ASCII ("１２．５" is "12.5"); spaces around it are ignored;
    - digits 0-9, then optionally "." and 1 to `places` digits ("5." and ".5" are refused: a
      digit missing on either side of the point is more likely a typo than a number);
    - with `grouping`, "," may separate groups of exactly three digits before the point
      ("1,250.00"). Any other comma ("12,50", ",5", "5,", "1,2345") is refused as ambiguous,
      since it may be a decimal comma; a three-digit group after a comma cannot be one, as it
      would give three decimals (grouping is meant for `places` < 3);
    - refused: signs ("-5", "+5", "--5"), exponents ("1e3"), currency symbols ("¥5"), inner
      spaces ("1 000": two numbers or one?), "." as a thousands separator ("1.234" has too
      many decimals), and anything above `maximum`.

    Raises MoneyError with the sentence of `words` that says what is wrong.
    """
    typed = unicodedata.normalize("NFKC", text).strip()
    if _NEGATIVE.match(typed):
        raise MoneyError(words.negative)
    whole, point, frac = typed.partition(".")
    if "," in typed:
        if not (grouping and _GROUPS.match(whole) and "," not in frac):
            raise MoneyError(words.comma)
        whole = whole.replace(",", "")
    if point and (not whole or not frac):
        raise MoneyError(words.point)
    if not _DIGITS.match(whole) or (point and not _DIGITS.match(frac)) or len(frac) > places:
        raise MoneyError(words.malformed)
    # counting digits first keeps int() away from very long strings (it refuses > 4300 digits)
    whole = whole.lstrip("0") or "0"
    too_long = len(whole) + places > len(str(maximum))
    units = 0 if too_long else int(whole + frac.ljust(places, "0"))
    if too_long or units > maximum:
        raise MoneyError(words.too_large)
    return units


def parse_yuan(text: str) -> int:
    """An amount in yuan as a person typed it ("168", "99.5", "1,250.00", "１６８") in fen,
    up to MAX_BILL_FEN. Grammar and refusals: `parse_fixed` (two decimals, "," groups)."""
    return parse_fixed(text, 2, maximum=MAX_BILL_FEN, words=YUAN_WORDS, grouping=True)


def parse_percent_bp(text: str) -> int:
    """A percentage as a person typed it ("12", "12.5") in basis points (1250), at most
    100% and two decimals; no "," at all (a percentage has no thousands). Callers check
    their own range. Grammar and refusals: `parse_fixed`."""
    return parse_fixed(text, 2, maximum=BASIS_POINTS, words=PERCENT_WORDS)


def format_fen(amount_fen: int, symbol: str = "¥") -> str:
    """¥1,234.50 — for display only."""
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), FEN_PER_YUAN)
    return f"{sign}{symbol}{yuan:,}.{fen:02d}"


def _decimal(units: int, places: int) -> str:
    """A whole count of 10**-places units as a short decimal: 875, 2 -> "8.75"; 830 -> "8.3";
    900 -> "9" (no trailing zeros, no point without decimals)."""
    whole, frac = divmod(units, 10**places)
    digits = f"{frac:0{places}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


Language = Literal["zh", "en"]


def _language(locale: str) -> Language:
    """Chinese for any zh locale ("zh_CN", "zh-CN"); English otherwise."""
    return "zh" if locale.lower().startswith("zh") else "en"


def discount_words(rate_bp: int, locale: str) -> str:
    """A discount rate as shoppers say it: 1000 bp -> "9折" / "10% off"; 1700 -> "8.3折" /
    "17% off"; 1250 -> "8.75折" / "12.5% off". 折 rounds the price paid up to the hundredth of
    折 (see the module docstring); English is exact. 0 and 10000 have words of their own."""
    if not 0 <= rate_bp <= BASIS_POINTS:
        raise MoneyError("rate must be between 0 and 10000 basis points")
    zh = _language(locale) == "zh"
    if rate_bp == 0:
        return "原价" if zh else "no discount"
    if rate_bp == BASIS_POINTS:
        return "免单" if zh else "free"
    if zh:
        paid_hundredths = -(-(BASIS_POINTS - rate_bp) // 10)  # ceil: a hundredth of 折 = 10 bp
        return f"{_decimal(paid_hundredths, 2)}折"
    return f"{_decimal(rate_bp, 2)}% off"


def amount_off_words(amount_fen: int, locale: str) -> str:
    """An amount taken off a bill: "立减 ¥12.50" / "¥12.50 off"."""
    amount = format_fen(amount_fen)
    return f"立减 {amount}" if _language(locale) == "zh" else f"{amount} off"
