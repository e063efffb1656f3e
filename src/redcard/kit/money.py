"""Money is integer fen. Formatting happens at the edges only.

Rounding rule (the one rule, used everywhere a discount is computed):
the member's discount is rounded **down** to the whole fen, so the merchant never gives more
than the advertised rate and the amount charged is `bill - discount`, exact by construction.

A store's terms (`card_discount`): the rate applies to the part of the bill outside the store's
excluded categories (e.g. 烟酒, entered at the till); that part must reach the minimum bill;
the discount is then capped and rounded down as above.
"""

from __future__ import annotations

import re
import unicodedata

FEN_PER_YUAN = 100
MAX_BILL_FEN = 9_999_999_999  # ¥99,999,999.99
BASIS_POINTS = 10_000

_AMOUNT = re.compile(r"^(\d{1,8})(?:\.(\d{1,2}))?$")


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


def parse_yuan(text: str) -> int:
    """Parse what a person typed ("168", "99.5", "１６８" full-width) into fen.

    Rejects negatives, more than two decimals, blanks and anything above MAX_BILL_FEN.
    """
    normalised = unicodedata.normalize("NFKC", text).strip().replace(",", "")
    match = _AMOUNT.match(normalised)
    if match is None:
        raise MoneyError("enter an amount in yuan with at most two decimals, e.g. 128.50")
    whole, frac = match.group(1), (match.group(2) or "").ljust(2, "0")
    amount = int(whole) * FEN_PER_YUAN + int(frac)
    if amount > MAX_BILL_FEN:
        raise MoneyError("amount is too large")
    return amount


def format_fen(amount_fen: int, symbol: str = "¥") -> str:
    """¥1,234.50 — for display only."""
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), FEN_PER_YUAN)
    return f"{sign}{symbol}{yuan:,}.{fen:02d}"
