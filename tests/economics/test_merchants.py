"""Merchant value across the programme and the concentration of redemptions, against a small
hand-built month whose answers are written out. On both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime

from redcard.economics.headline import month_bounds
from redcard.economics.merchants import concentration, merchant_table
from redcard.kit import time as clock
from tests.companions.helpers import pair
from tests.economics.helpers import undo, visit
from tests.fixtures.factories import login, new_card_holder, new_till_shop, new_user

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


async def test_merchant_value_and_concentration_of_a_small_month(client, db):
    clock.freeze(NOW)
    busy = await new_till_shop(db, name="热闹店", discount_bp=1000)
    quiet = await new_till_shop(db, name="安静店", discount_bp=2000)
    for i in range(8):  # live stores nobody visited: ten live stores in all
        await new_till_shop(db, name=f"空店{i}")
    a = await new_card_holder(db, "阿甲", trial=False)
    b = await new_card_holder(db, "阿乙")
    friend = await new_user(db, name="阿丙")
    await pair(client, await login(client, a), friend, await login(client, friend))

    await visit(client, db, busy, a, "100.00")
    await visit(client, db, busy, friend, "50.00")  # on 阿甲's card: 阿甲 came twice
    await visit(client, db, busy, b, "80.00")
    await visit(client, db, quiet, b, "200.00")
    undone = await visit(client, db, quiet, a, "300.00")
    await undo(client, quiet, undone)

    start, end = month_bounds(date(2026, 11, 1))
    async with db.session_scope() as session:
        rows = await merchant_table(session, start, end)
        c = await concentration(session, start, end)
    table = [
        (r.name, r.visits, r.holders, r.repeat_holders, r.bills_fen, r.discount_fen) for r in rows
    ]
    assert table == [
        ("热闹店", 3, 2, 1, 23000, 2300),  # 阿甲 twice (once by 阿丙), 阿乙 once
        ("安静店", 1, 1, 0, 20000, 4000),  # 阿甲's ¥300 was undone
    ]
    assert rows[0].repeat_percent == 50
    assert (c.live_stores, c.top_stores, c.redemptions, c.at_top, c.percent) == (10, 1, 4, 3, 75)
