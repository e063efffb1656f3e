"""Money is integer fen. Formatting happens at the edges only.

Rounding rule (the one rule, used everywhere a discount is computed):
the member's discount is rounded **down** to the whole fen, so the merchant never gives more
than the advertised rate and the amount charged is `bill - discount`, exact by construction.

A store's terms (`card_discount`): the rate applies to the part of the bill outside the store's
excluded categories (e.g. 烟酒, entered at the till); that part must reach the minimum bill;
the discount is then capped and rounded down as above.

What a person types (an amount, a percentage) is read by `parse_fixed`, the one grammar for
typed numbers: exact integers of the smallest unit, never through float, and ambiguous input
such as "12,50" refused with a message saying why. `parse_yuan` and `parse_percent_bp` are it.
"""

from __future__ import annotations

import re
import unicodedata

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


def parse_fixed(
    text: str, places: int, *, maximum: int, what: str, example: str, grouping: bool = False
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

    Raises MoneyError with a message saying what is wrong, naming `what` and `example`.
    """
    typed = unicodedata.normalize("NFKC", text).strip()
    if not typed:
        raise MoneyError(f"enter {what}, e.g. {example}")
    if _NEGATIVE.match(typed):
        raise MoneyError(f"{what} must not be negative")
    whole, point, frac = typed.partition(".")
    if "," in typed:
        if not grouping:
            raise MoneyError(
                f'"," is not allowed in {what}: write a decimal point as "." ({example})'
            )
        if not _GROUPS.match(whole) or "," in frac:
            raise MoneyError(
                f'"," is ambiguous in {what}: write the decimal point as "." (e.g. {example}); '
                '"," may only separate groups of three digits (e.g. 1,250.00)'
            )
        whole = whole.replace(",", "")
    if point and (not whole or not frac):
        raise MoneyError(f"write digits on both sides of the decimal point in {what}, e.g. 0.50")
    if not _DIGITS.match(whole) or (point and not _DIGITS.match(frac)):
        raise MoneyError(f"enter {what} as digits with an optional decimal point, e.g. {example}")
    if len(frac) > places:
        decimals = f"at most {places} decimals" if places else "no decimals"
        raise MoneyError(f"{what} takes {decimals}, e.g. {example}")
    # counting digits first keeps int() away from very long strings (it refuses > 4300 digits)
    whole = whole.lstrip("0") or "0"
    too_long = len(whole) + places > len(str(maximum))
    units = 0 if too_long else int(whole + frac.ljust(places, "0"))
    if too_long or units > maximum:
        raise MoneyError(f"{what} is too large")
    return units


def parse_yuan(text: str) -> int:
    """An amount in yuan as a person typed it ("168", "99.5", "1,250.00", "１６８") in fen,
    up to MAX_BILL_FEN. Grammar and refusals: `parse_fixed` (two decimals, "," groups)."""
    return parse_fixed(
        text,
        2,
        maximum=MAX_BILL_FEN,
        what="the amount in yuan",
        example="128.50",
        grouping=True,
    )


def parse_percent_bp(text: str) -> int:
    """A percentage as a person typed it ("12", "12.5") in basis points (1250), at most
    100% and two decimals; no "," at all (a percentage has no thousands). Callers check
    their own range. Grammar and refusals: `parse_fixed`."""
    return parse_fixed(text, 2, maximum=BASIS_POINTS, what="the percentage", example="12.5")


def format_fen(amount_fen: int, symbol: str = "¥") -> str:
    """¥1,234.50 — for display only."""
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), FEN_PER_YUAN)
    return f"{sign}{symbol}{yuan:,}.{fen:02d}"
