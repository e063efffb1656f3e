"""The operator's simulator page: the same answer as the model for the same inputs, the
assumptions and the sensitivity grid shown, and clear refusals of bad input."""

from __future__ import annotations

import re

from redcard.economics.simulate import Inputs, run
from tests.fixtures.factories import login, new_operator


async def test_the_page_shows_the_models_answer_with_its_assumptions(client, db):
    headers = await login(client, await new_operator(db))
    page = await client.get(
        "/operator/simulate?sent=1&price=99&discount=15&exclusive=40&density=60",
        headers=headers,
    )
    assert page.status_code == 200, page.text
    want = run(
        Inputs(
            price_fen=9900,
            discount_bp=1500,
            exclusive_share=0.4,
            store_density=60,
            members=20_000,
        )
    )
    found = re.search(r'data-break-even="([\d.]+)" data-renewal="([\d.]+)"', page.text)
    assert found is not None
    assert float(found.group(1)) == round(want.break_even_share, 4)
    assert float(found.group(2)) == round(want.renewal_rate, 4)
    assert page.text.count('data-assumption="') == 6
    assert page.text.count("<tr data-price-fen=") == 5
    assert "使用默认值（未使用历史数据）" in page.text  # the box was unticked
    bars = re.findall(r'data-cumulative-fen="(-?\d+)"', page.text)
    assert [int(b) for b in bars] == want.cumulative_fen


async def test_a_first_visit_fits_to_history_and_says_when_there_is_too_little(client, db):
    page = await client.get(
        "/operator/simulate", headers=await login(client, await new_operator(db))
    )
    assert page.status_code == 200
    assert "使用默认值：历史数据不足（付费会员 0 位）" in page.text


async def test_bad_input_is_refused_with_a_sentence(client, db):
    headers = await login(client, await new_operator(db))
    for query, message in (
        ("price=abc", "元"),
        ("discount=150", "优惠必须在 0% 到 100% 之间"),
        ("exclusive=lots", "请输入数字"),
        ("density=0", "门店数必须大于 0"),
    ):
        page = await client.get(f"/operator/simulate?sent=1&{query}", headers=headers)
        assert page.status_code == 422, query
        assert message in page.text, query
        assert 'id="results"' not in page.text
