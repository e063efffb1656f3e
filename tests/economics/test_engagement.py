"""The console's engagement funnel and cohorts against a small hand-built history whose
answers are written out. On both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import insert, update

from redcard.economics.engagement import cohorts, funnel
from redcard.kit import time as clock
from redcard.models import Membership, MembershipStatus, PlanKind
from tests.economics.helpers import visit
from tests.fixtures.factories import (
    login,
    new_card_holder,
    new_operator,
    new_till_shop,
    setup_plans,
)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 4, 0, tzinfo=UTC)  # noon in Shanghai


async def test_the_funnel_and_cohorts_of_a_small_history(client, db):
    clock.freeze(at(9, 10))
    shop = await new_till_shop(db, discount_bp=1000)
    a = await new_card_holder(db, "阿甲", trial=False)  # card from 09-09
    b = await new_card_holder(db, "阿乙", trial=False)
    d = await new_card_holder(db, "阿丁", trial=False)  # renewed: held a card the year before
    plans = await setup_plans(db)
    async with db.session_scope() as session:
        await session.execute(
            insert(Membership).values(
                member_id=d.id,
                plan_id=plans.annual.id,
                kind=PlanKind.paid,
                status=MembershipStatus.expired,
                starts_at=datetime(2025, 9, 8, tzinfo=UTC),
                ends_at=datetime(2026, 9, 8, tzinfo=UTC),
                ended_at=datetime(2026, 9, 8, tzinfo=UTC),
            )
        )
    clock.freeze(at(9, 20))
    await visit(client, db, shop, a, "100.00")  # 阿甲 first uses it 11 days in
    clock.freeze(at(10, 5))
    c = await new_card_holder(db, "阿丙", trial=False)
    async with db.session_scope() as session:  # 阿丙 gives it back
        await session.execute(
            update(Membership)
            .where(Membership.member_id == c.id)
            .values(status=MembershipStatus.refunded, ended_at=at(10, 6))
        )
    clock.freeze(at(10, 15))
    await visit(client, db, shop, a, "100.00")
    await visit(client, db, shop, a, "100.00")
    await visit(client, db, shop, b, "100.00")  # 阿乙: 36 days in
    clock.freeze(at(11, 20))

    async with db.session_scope() as session:
        f = await funnel(session)
        found = await cohorts(session)
    assert (f.bought, f.first_use, f.three_uses, f.renewed, f.refunded) == (4, 2, 1, 1, 1)
    assert f.median_days_to_first_use == 23.5  # of 11 and 36
    assert (f.paying_now, f.dormant) == (3, 3)  # 阿甲, 阿乙 last used it 36 days ago; 阿丁 never
    assert [(c.month.isoformat(), c.members, c.active) for c in found] == [
        ("2026-09-01", 2, [1, 2, 0]),  # 阿甲 in September; both in October; nobody since
        ("2026-10-01", 1, [0, 0]),  # 阿丙
    ]  # 阿丁 joined in 2025-09, beyond the twelve cohorts shown

    page = await client.get("/operator", headers=await login(client, await new_operator(db)))
    assert page.status_code == 200, page.text
    steps = dict(re.findall(r'data-step="(\w+)" data-count="(\d+)"', page.text))
    assert steps == {
        "bought": "4",
        "first_use": "2",
        "three_uses": "1",
        "renewed": "1",
        "refunded": "1",
    }
    assert 'data-cohort="2026-09" data-members="2" data-active="1,2,0"' in page.text
    assert re.search(r'id="dormant">3<', page.text)
