"""The programme simulator: what a card's price, discount and exclusivity would do, before an
operator commits to them (docs/economics.md, "The simulator").

A cohort of members is drawn (a fixed seed, so the same inputs give the same answer) and
followed for twelve months:

- **Spend at partner stores**: each member-month is active with probability `active_share`;
  an active month's card spend is log-normal (`median_spend_fen`, `sigma`). Both come from
  the programme's own redemptions when there are enough (`fit`), else from the inputs.
- **Density**: spend scales with (store density / the density it was measured at) **
  DENSITY_ELASTICITY: more partner stores nearby capture more of a member's local spending,
  with diminishing returns.
- **Exclusivity**: a share `exclusive_share` of the partner deals are members-only; spend there
  is spend a member could not have had without the card, and draws (1 + EXCLUSIVE_LIFT) times
  as much as an ordinary deal.
- **Savings** = spend × the discount. A member **breaks even** when a year's savings reach the
  price. **Renewal**: each member renews with probability 1 / (1 + exp(-RENEWAL_SLOPE × (savings
  / price − 1))): one in two at break-even, fewer below it.
- **P&L** (the operator's, per month and cumulative): fees recognised straight-line over the
  card's year for the members who kept it (`refund_share` give it back in the cooling-off
  period: shown as cash paid back in month 1, never recognised), less the channel's fee on
  every fee collected (`channel_fee_bp`), plus commission on 买单 spend.

Every assumption is printed beside the results. The sensitivity table answers "what price,
or what exclusivity share, would make half the members break even".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np

MONTHS = 12
DENSITY_ELASTICITY = 0.5
EXCLUSIVE_LIFT = 1.0
RENEWAL_SLOPE = 3.0
MIN_FIT_MEMBERS = 30  # paying members with history before the programme's data is used


@dataclass(frozen=True, slots=True)
class Inputs:
    price_fen: int = 16_800
    discount_bp: int = 1_000
    exclusive_share: float = 0.2  # of partner deals, members-only
    store_density: float = 30.0  # partner stores within 3 km of a typical member
    measured_density: float = 30.0  # the density the spend figures were measured at
    measured_exclusive_share: float = 0.2  # the exclusivity they were measured at
    median_spend_fen: int = 8_000  # an active month's card spend, median
    sigma: float = 0.6  # its log-normal spread
    active_share: float = 0.5  # member-months with any card spend
    refund_share: float = 0.05  # members who give the card back in the cooling-off period
    channel_fee_bp: int = 60
    pay_share: float = 0.3  # of card spend paid through the platform (买单)
    commission_bp: int = 0
    members: int = 20_000
    seed: int = 17

    def check(self) -> None:
        """Refuse inputs that mean nothing (ValueError with a sentence)."""
        if self.price_fen <= 0:
            raise ValueError("the price must be above 0")
        if not 0 < self.discount_bp < 10_000:
            raise ValueError("the discount must be between 0% and 100%")
        for name in (
            "exclusive_share",
            "active_share",
            "refund_share",
            "pay_share",
            "measured_exclusive_share",
        ):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name.replace('_', ' ')} must be between 0 and 1")
        if self.store_density <= 0 or self.measured_density <= 0:
            raise ValueError("the store density must be above 0")
        if self.median_spend_fen <= 0 or self.sigma < 0:
            raise ValueError("the spend must be above 0 and its spread not negative")
        if not 100 <= self.members <= 1_000_000:
            raise ValueError("simulate between 100 and 1,000,000 members")


@dataclass(frozen=True, slots=True)
class Month:
    month: int  # 1..12
    fees_recognised_fen: int
    refunds_fen: int
    channel_fees_fen: int
    commission_fen: int

    @property
    def net_fen(self) -> int:
        """Recognised income less costs. Refunds are shown but not subtracted: a refunded
        member's fee was never recognised (it was deferred, then paid back)."""
        return self.fees_recognised_fen - self.channel_fees_fen + self.commission_fen


@dataclass(frozen=True, slots=True)
class Result:
    inputs: Inputs
    break_even_share: float
    median_savings_fen: int  # a year's, per member
    median_days_to_break_even: int | None  # among those who break even
    renewal_rate: float
    months: list[Month]
    assumptions: dict[str, str] = field(default_factory=dict)

    @property
    def cumulative_fen(self) -> list[int]:
        total, out = 0, []
        for m in self.months:
            total += m.net_fen
            out.append(total)
        return out


def _spend_scale(i: Inputs) -> float:
    density = (i.store_density / i.measured_density) ** DENSITY_ELASTICITY
    exclusive = (1 + i.exclusive_share * EXCLUSIVE_LIFT) / (
        1 + i.measured_exclusive_share * EXCLUSIVE_LIFT
    )
    return density * exclusive


def _monthly_spend(i: Inputs) -> np.ndarray:
    """(members, MONTHS) card spend in fen."""
    rng = np.random.default_rng(i.seed)
    active = rng.random((i.members, MONTHS)) < i.active_share
    spend = i.median_spend_fen * np.exp(rng.normal(0.0, i.sigma, (i.members, MONTHS)))
    return np.where(active, spend * _spend_scale(i), 0.0)


def run(i: Inputs) -> Result:
    i.check()
    spend = _monthly_spend(i)
    savings = spend * (i.discount_bp / 10_000)
    yearly = savings.sum(axis=1)
    broke = yearly >= i.price_fen
    running = savings.cumsum(axis=1)
    month_reached = np.argmax(running >= i.price_fen, axis=1)  # 0-based month of break-even
    days = None
    if broke.any():
        # within the month it was reached: the share of that month's savings it took
        k = month_reached[broke]
        before = np.where(k > 0, running[broke, np.maximum(k - 1, 0)], 0.0)
        month_savings = savings[broke, k]
        fraction = np.clip((i.price_fen - before) / np.maximum(month_savings, 1e-9), 0, 1)
        days = int(round(float(np.median((k + fraction) * 365 / MONTHS))))
    ratio = yearly / i.price_fen
    renewal = float(np.mean(1 / (1 + np.exp(-RENEWAL_SLOPE * (ratio - 1)))))
    stayed = i.members * (1 - i.refund_share)
    months = []
    for m in range(1, MONTHS + 1):
        fees = round(stayed * i.price_fen / MONTHS)
        refunds = round(i.members * i.refund_share * i.price_fen) if m == 1 else 0
        channel = round(i.members * i.price_fen * i.channel_fee_bp / 10_000) if m == 1 else 0
        commission = round(
            float(spend[:, m - 1].sum())
            * (1 - i.refund_share)
            * i.pay_share
            * i.commission_bp
            / 10_000
        )
        months.append(Month(m, fees, refunds, channel, commission))
    return Result(
        inputs=i,
        break_even_share=float(broke.mean()),
        median_savings_fen=int(round(float(np.median(yearly)))),
        median_days_to_break_even=days,
        renewal_rate=renewal,
        months=months,
        assumptions=assumptions(i),
    )


def assumptions(i: Inputs) -> dict[str, str]:
    return {
        "card spend": (
            f"{i.active_share:.0%} of member-months active; an active month log-normal, median "
            f"¥{i.median_spend_fen / 100:,.2f}, sigma {i.sigma:.2f}"
        ),
        "density": (f"spend × (density / {i.measured_density:g}) ** {DENSITY_ELASTICITY}"),
        "exclusivity": (
            f"members-only deals draw {1 + EXCLUSIVE_LIFT:g}× an ordinary deal's spend"
            f" (measured at {i.measured_exclusive_share:.0%} exclusive)"
        ),
        "renewal": f"1 / (1 + exp(-{RENEWAL_SLOPE:g} × (savings / price − 1)))",
        "refunds": f"{i.refund_share:.0%} of members in the cooling-off period",
        "channel fee": f"{i.channel_fee_bp / 100:g}% of the fee",
        "commission": f"{i.commission_bp / 100:g}% of the {i.pay_share:.0%} of spend paid by 买单",
        "members": f"{i.members:,} drawn with seed {i.seed}",
    }


def _solve(
    lo: float, hi: float, share_at: Callable[[float], float], target: float = 0.5, steps: int = 30
) -> float | None:
    """The x in [lo, hi] where share_at(x) crosses `target` (decreasing or increasing); None
    when it never does."""
    f_lo, f_hi = share_at(lo) - target, share_at(hi) - target
    if f_lo == 0:
        return lo
    if f_lo * f_hi > 0:
        return None
    for _ in range(steps):
        mid = (lo + hi) / 2
        f_mid = share_at(mid) - target
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True, slots=True)
class Sensitivity:
    prices_fen: list[int]
    exclusive_shares: list[float]
    break_even: list[list[float]]  # [price][exclusive share]
    half_at_price_fen: int | None  # the price at which half the members break even
    half_at_exclusive_share: float | None  # the exclusivity, at the given price


def sensitivity(i: Inputs) -> Sensitivity:
    """Break-even share over prices and exclusivity shares, and where it reaches one half."""
    i.check()
    small = replace(i, members=min(i.members, 5_000))
    spend = _monthly_spend(replace(small, exclusive_share=small.measured_exclusive_share))
    base_scale = _spend_scale(replace(small, exclusive_share=small.measured_exclusive_share))

    def share(price: float, exclusive: float) -> float:
        scale = _spend_scale(replace(small, exclusive_share=exclusive)) / base_scale
        yearly = (spend * scale).sum(axis=1) * (i.discount_bp / 10_000)
        return float((yearly >= price).mean())

    prices = sorted({round(i.price_fen * f, -2) for f in (0.25, 0.5, 0.75, 1.0, 1.5)})
    shares = [0.0, 0.2, 0.4, 0.7, 1.0]
    price = _solve(100.0, i.price_fen * 4.0, lambda p: share(p, i.exclusive_share))
    exclusive = _solve(0.0, 1.0, lambda e: share(i.price_fen, e))
    return Sensitivity(
        prices_fen=[int(p) for p in prices],
        exclusive_shares=shares,
        break_even=[[share(p, e) for e in shares] for p in prices],
        half_at_price_fen=None if price is None else int(round(price, -2)),
        half_at_exclusive_share=exclusive,
    )


def as_dict(result: Result) -> dict[str, object]:
    out = asdict(result)
    out["cumulative_fen"] = result.cumulative_fen
    return out


def fit(monthly_spend_fen: list[int], members: int) -> tuple[float, int, float] | None:
    """(active share, median, sigma) from member-months of card spend (0 for a month without
    any), or None with fewer than MIN_FIT_MEMBERS members."""
    if members < MIN_FIT_MEMBERS or not monthly_spend_fen:
        return None
    values = np.array(monthly_spend_fen, dtype=np.float64)
    active = values[values > 0]
    if len(active) < 2:
        return None
    logs = np.log(active)
    return (
        float(len(active) / len(values)),
        int(round(math.exp(float(np.median(logs))))),
        float(np.std(logs, ddof=1)),
    )
