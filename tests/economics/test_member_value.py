"""The console's member value bands against paying members whose savings are written out,
an undo that takes a member back below the fee included. On both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from redcard.economics.member_value import band, member_value
from redcard.kit import time as clock
from tests.economics.helpers import undo, visit
from tests.fixtures.factories import login, new_card_holder, new_operator, new_till_shop

START = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


def test_bands_are_shares_of_the_fee():
    fee = 16_800
    assert [band(s, fee) for s in (0, -5, 1, 4_199, 4_200, 8_400, 12_600, 16_799, 16_800)] == [
        "none",
        "none",
        "under_25",
        "under_25",
        "25_50",
        "50_75",
        "75_100",
        "75_100",
        "paid_back",
    ]


async def test_paying_members_fall_into_their_bands(client, db):
    clock.freeze(START)
    shop = await new_till_shop(db, discount_bp=1000)
    names = ("阿甲", "阿乙", "阿丙", "阿丁", "阿戊")
    a, b, c, d, e = [await new_card_holder(db, n, trial=False) for n in names]  # cards from 11-01
    clock.freeze(START + timedelta(days=9))
    await visit(client, db, shop, b, "500.00")  # ¥50 of ¥168: a quarter to half
    await visit(client, db, shop, c, "1700.00")  # ¥170: paid back, ten days in
    await visit(client, db, shop, d, "1300.00")  # ¥130: nearly
    taken_back = await visit(client, db, shop, e, "1700.00")
    await undo(client, shop, taken_back)  # 阿戊 paid back, then the till undid it
    clock.freeze(START + timedelta(days=20))

    async with db.session_scope() as session:
        value = await member_value(session)
    assert value.paying == 5
    assert value.bands == {
        "none": 2,  # 阿甲, 阿戊
        "under_25": 0,
        "25_50": 1,
        "50_75": 0,
        "75_100": 1,
        "paid_back": 1,
    }
    assert value.median_days_to_break_even is not None
    assert 10.0 <= value.median_days_to_break_even <= 10.1  # 阿丙 only: 阿戊's was undone

    page = await client.get("/operator", headers=await login(client, await new_operator(db)))
    bands = dict(re.findall(r'data-band="(\w+)" data-count="(\d+)"', page.text))
    assert bands == {k: str(v) for k, v in value.bands.items()}
