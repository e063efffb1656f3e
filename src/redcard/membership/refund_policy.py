"""A plan's refund policy as pure functions: how much of a paid card goes back, at a given
moment. The member's own refund (membership/refunds.py) and a sunset's refunds
(sunset/dryrun.py, sunset/seed.py) both use it. A member's own refund gives everything back
within the plan's cooling-off period and the policy's amount after it.

- full: everything paid.
- pro_rata: the unused share of the card's term, rounded DOWN to the fen.
- paid_minus_benefits: what was paid minus what the member saved with the card (Sam's 卓越卡
  style), never below zero. Savings come from the ledger (member_savings, owner = member).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redcard.models import RefundPolicy


def amount_for(
    policy: RefundPolicy,
    *,
    paid_fen: int,
    starts_at: datetime,
    ends_at: datetime,
    at: datetime,
    benefits_fen: int = 0,
) -> int:
    """The refund for one paid card under `policy`, as of `at` (e.g. the sunset's cut-off)."""
    if paid_fen <= 0:
        return 0
    if policy == RefundPolicy.full:
        return paid_fen
    if policy == RefundPolicy.pro_rata:
        term = (ends_at - starts_at).total_seconds()
        if term <= 0:
            return 0
        unused = (ends_at - max(at, starts_at)).total_seconds()
        unused = min(max(unused, 0.0), term)
        # integer arithmetic on whole seconds, rounding down
        return paid_fen * int(unused) // int(term)
    if policy == RefundPolicy.paid_minus_benefits:
        return max(0, paid_fen - max(0, benefits_fen))
    raise ValueError(f"unknown refund policy {policy!r}")


@dataclass(frozen=True)
class SelfServiceQuote:
    allowed: bool
    amount_fen: int
    policy: RefundPolicy
    reason: str  # why not, or what the amount is based on (an English msgid)
    cooling_off_ends_at: datetime
    within_cooling_off: bool = False
    paid_fen: int = 0  # what is left of the payment: the most a refund can give back
    benefits_fen: int = 0  # what the card saved the member so far (the ledger's savings)


WITHIN_COOLING_OFF = "full refund: within the cooling-off period"
BY_POLICY = "refund policy: {policy}"
NOTHING_LEFT = "nothing is left to refund"


def self_service_quote(
    policy: RefundPolicy,
    cooling_off_days: int,
    *,
    paid_fen: int,
    starts_at: datetime,
    ends_at: datetime,
    at: datetime,
    benefits_fen: int = 0,
) -> SelfServiceQuote:
    """A member's own refund: everything paid within the plan's cooling-off period; after it,
    what the plan's policy gives at that moment (the unused share for pro_rata, paid minus
    the benefits used for paid_minus_benefits). Refused only when that is nothing."""
    window_end = starts_at + timedelta(days=cooling_off_days)
    paid_fen = max(0, paid_fen)
    within = at < window_end
    if within:
        amount, reason = paid_fen, WITHIN_COOLING_OFF
    else:
        amount = amount_for(
            policy,
            paid_fen=paid_fen,
            starts_at=starts_at,
            ends_at=ends_at,
            at=at,
            benefits_fen=benefits_fen,
        )
        reason = BY_POLICY.format(policy=policy.value)
    amount = min(max(amount, 0), paid_fen)
    if amount <= 0:
        reason = NOTHING_LEFT
    return SelfServiceQuote(
        amount > 0, amount, policy, reason, window_end, within, paid_fen, max(0, benefits_fen)
    )
