"""The simulator's arithmetic on cases whose answers are known without it, and the fit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from redcard.economics.simulate import MIN_FIT_MEMBERS, Inputs, fit, run, sensitivity

# every member spends the same every month: the answers are exact
STEADY = Inputs(sigma=0.0, active_share=1.0, members=1_000, exclusive_share=0.2)


def test_a_steady_spender_breaks_even_exactly_at_the_price():
    on_the_line = replace(STEADY, median_spend_fen=14_000)  # 12 x ¥140 x 10% = ¥168
    assert run(on_the_line).break_even_share == 1.0
    assert run(replace(on_the_line, median_spend_fen=13_900)).break_even_share == 0.0
    assert run(on_the_line).renewal_rate == pytest.approx(0.5)  # at break-even, one in two
    assert run(on_the_line).median_savings_fen == 16_800


def test_days_to_break_even_follow_the_monthly_savings():
    twice = replace(STEADY, median_spend_fen=28_000)  # ¥28 saved a month: ¥168 after 6 months
    assert run(twice).median_days_to_break_even == round(6 * 365 / 12)
    assert run(replace(STEADY, median_spend_fen=1_000)).median_days_to_break_even is None


def test_more_discount_more_exclusivity_and_more_stores_mean_more_break_even():
    base = Inputs(members=5_000)
    share = run(base).break_even_share
    assert run(replace(base, discount_bp=2_000)).break_even_share > share
    assert run(replace(base, exclusive_share=0.7)).break_even_share > share
    assert run(replace(base, store_density=120)).break_even_share > share
    assert run(replace(base, price_fen=30_000)).break_even_share < share


def test_the_p_and_l_recognises_fees_over_the_year():
    result = run(replace(STEADY, median_spend_fen=10_000, members=1_000, refund_share=0.1))
    kept = 900 * 16_800
    channel = round(1_000 * 16_800 * 60 / 10_000)
    assert [m.fees_recognised_fen for m in result.months] == [round(kept / 12)] * 12
    assert result.months[0].refunds_fen == 100 * 16_800
    assert result.cumulative_fen[-1] == 12 * round(kept / 12) - channel


def test_half_break_even_is_found_where_the_share_crosses_one_half():
    s = sensitivity(replace(STEADY, median_spend_fen=14_000))
    assert s.half_at_price_fen == 16_800  # steady spenders: the price they save exactly
    assert s.break_even[s.prices_fen.index(16_800)][1] == 1.0
    hopeless = sensitivity(replace(STEADY, median_spend_fen=1_000))
    assert hopeless.half_at_exclusive_share is None  # not even with every deal members-only


def test_the_fit_recovers_a_known_spend_distribution():
    rng = np.random.default_rng(3)
    months = 4 * 500
    active = rng.random(months) < 0.4
    spend = np.where(active, 9_000 * np.exp(rng.normal(0, 0.7, months)), 0).round().astype(int)
    found = fit(spend.tolist(), 500)
    assert found is not None
    share, median, sigma = found
    assert share == pytest.approx(0.4, abs=0.03)
    assert median == pytest.approx(9_000, rel=0.08)
    assert sigma == pytest.approx(0.7, abs=0.05)
    assert fit(spend.tolist(), MIN_FIT_MEMBERS - 1) is None  # too few members to trust


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"price_fen": 0}, "price"),
        ({"discount_bp": 10_000}, "discount"),
        ({"exclusive_share": 1.5}, "exclusive share"),
        ({"store_density": 0}, "density"),
        ({"members": 10}, "members"),
    ],
)
def test_inputs_that_mean_nothing_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        run(replace(Inputs(), **change))
