"""The scarcity index by district, by category and by week, against a hand-built fortnight
whose answers are written out. On both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update

from redcard.economics import scarcity
from redcard.economics.headline import month_bounds
from redcard.kit import time as clock
from redcard.models import Store
from tests.economics.helpers import visit
from tests.fixtures.factories import login, new_card_holder, new_operator, new_till_shop

WED = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)  # a Wednesday; the week of 11-16


async def test_scarcity_by_district_category_and_week(client, db):
    clock.freeze(WED - timedelta(days=2))
    exclusive = await new_till_shop(db, name="专享咖啡")
    ordinary = await new_till_shop(db, name="普通面馆")
    async with db.session_scope() as session:
        await session.execute(
            update(Store)
            .where(Store.id == exclusive.store.id)
            .values(exclusive_to_members=True, district="静安区", category="cafe")
        )
        await session.execute(
            update(Store)
            .where(Store.id == ordinary.store.id)
            .values(district="黄浦区", category="food")
        )
    member = await new_card_holder(db, trial=False)
    clock.freeze(WED)
    await visit(client, db, exclusive, member, "50.00")
    await visit(client, db, ordinary, member, "150.00")
    clock.freeze(WED + timedelta(days=7))  # the next week
    await visit(client, db, ordinary, member, "100.00")
    await visit(client, db, ordinary, member, "100.00")

    start, end = month_bounds(date(2026, 11, 1))
    async with db.session_scope() as session:
        districts = await scarcity.by(session, Store.district, start, end)
        weeks = await scarcity.weekly(session)
    assert [(s.key, s.redemptions, s.count_percent, s.value_percent) for s in districts] == [
        ("黄浦区", 3, 0, 0),
        ("静安区", 1, 100, 100),
    ]
    assert [(w.key, w.redemptions, w.count_percent, w.value_percent) for w in weeks[-2:]] == [
        (date(2026, 11, 16), 2, 50, 25),  # ¥50 of ¥200 at the members-only café
        (date(2026, 11, 23), 2, 0, 0),
    ]
    assert all(w.redemptions == 0 for w in weeks[:-2])

    page = await client.get("/operator", headers=await login(client, await new_operator(db)))
    assert 'data-category="cafe" data-redemptions="1" data-percent="100"' in page.text
    assert re.search(r'data-week="2026-11-16" data-percent="50" data-redemptions="2"', page.text)
