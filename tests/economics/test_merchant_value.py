"""The merchant's value page against a small hand-built week whose answers are written out
below: visits, card holders, returning holders, bills, discount, fees and net by week, a
companion counted for the primary, an undone visit not counted, and the discount reconciled
to the ledger. On both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert

from redcard.kit import time as clock
from redcard.models import Statement, StatementStatus
from tests.companions.helpers import pair, redeem
from tests.economics.helpers import undo
from tests.fixtures.factories import (
    code_for,
    login,
    new_card_holder,
    new_till_shop,
    new_user,
    till,
)

LAST_WEEK = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)  # Wednesday noon in Shanghai
THIS_WEEK = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # the next Wednesday


def weeks(html: str) -> dict[str, dict[str, int]]:
    rows = {}
    for match in re.finditer(r'<tr class="week" data-week="([\d-]+)"([^>]*)>', html):
        attrs = dict(re.findall(r'data-([a-z-]+)="(-?\d+)"', match.group(2)))
        rows[match.group(1)] = {k: int(v) for k, v in attrs.items()}
    return rows


async def test_a_week_of_card_holders_adds_up(client, db):
    clock.freeze(LAST_WEEK - timedelta(hours=1))  # the cards start before the first visit
    shop = await new_till_shop(db, discount_bp=1000)
    a = await new_card_holder(db, "阿甲", trial=False)
    b = await new_card_holder(db, "阿乙")
    friend = await new_user(db, name="阿丙")
    await pair(client, await login(client, a), friend, await login(client, friend))

    clock.freeze(LAST_WEEK)
    await redeem(client, till(shop), await code_for(db, a))  # ¥100 bill, ¥10 off
    clock.freeze(THIS_WEEK)
    await redeem(client, till(shop), await code_for(db, a))
    clock.advance(timedelta(minutes=5))
    await redeem(client, till(shop), await code_for(db, b))
    clock.advance(timedelta(minutes=5))
    await redeem(client, till(shop), await code_for(db, friend))  # counts for 阿甲
    clock.advance(timedelta(minutes=5))
    undone = await redeem(client, till(shop), await code_for(db, b))
    await undo(client, shop, undone)
    async with db.session_scope() as session:  # one day's 买单 statement, as settlement writes
        await session.execute(
            insert(Statement).values(
                merchant_id=shop.merchant.id,
                day=date(2026, 11, 24),
                status=StatementStatus.open,
                bills_count=1,
                gross_fen=10000,
                discount_fen=1000,
                charged_fen=9000,
                sales_before_fen=0,
                fee_fen=54,
                commission_fen=0,
                undone_count=0,
                undone_fen=0,
                clawback_count=0,
                clawback_fen=0,
                net_payable_fen=8946,
            )
        )

    page = await client.get("/merchant/value", headers=await login(client, shop.staff))
    assert page.status_code == 200, page.text
    found = weeks(page.text)
    assert len(found) == 12
    assert found["2026-11-23"] == {
        "visits": 3,  # 阿甲, 阿乙, and 阿丙 on 阿甲's card; 阿乙's second was undone
        "members": 2,
        "returning": 1,  # 阿甲 came last week too
        "bills-fen": 30000,
        "discount-fen": 3000,
        "fees-fen": 54,
        "net-fen": 8946,
    }
    assert found["2026-11-16"] == {
        "visits": 1,
        "members": 1,
        "returning": 0,
        "bills-fen": 10000,
        "discount-fen": 1000,
        "fees-fen": 0,
        "net-fen": 0,
    }
    assert all(v["visits"] == 0 for k, v in found.items() if k < "2026-11-16")
    assert re.search(r'class="members">2<', page.text)
    assert re.search(r'data-repeat-members="1">50%<', page.text)  # 阿甲 of the two
    assert 'data-reconciled="yes"' in page.text
    assert "你给出的全部优惠 ¥40.00 与账本一致。" in page.text
    bars = re.findall(r'class="bar"[^>]*data-bills-fen="(\d+)"', page.text)
    assert bars[-2:] == ["10000", "30000"]


async def test_a_merchant_sees_only_its_own_figures(client, db):
    clock.freeze(THIS_WEEK - timedelta(hours=1))
    shop = await new_till_shop(db, name="甲店")
    other = await new_till_shop(db, name="乙店")
    member = await new_card_holder(db)
    clock.freeze(THIS_WEEK)
    await redeem(client, till(shop), await code_for(db, member))
    page = await client.get("/merchant/value", headers=await login(client, other.staff))
    assert page.status_code == 200
    assert all(v["visits"] == 0 for v in weeks(page.text).values())
    assert str(shop.merchant.id) not in page.text
