"""The console's headline figures against a small hand-built city whose answers are written
out below, and the savings figure against a direct ledger query. On both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import func, select, update

from redcard.economics.headline import headline, month_bounds
from redcard.kit import time as clock
from redcard.ledger.accounts import Account
from redcard.models import (
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Membership,
    MembershipStatus,
    Store,
)
from tests.economics.helpers import undo, visit
from tests.fixtures.factories import (
    login,
    new_card_holder,
    new_operator,
    new_till_shop,
)

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # noon in Shanghai, 2026-11-25


async def test_the_headline_of_a_small_city(client, db):
    clock.freeze(NOW)
    members = (
        await new_card_holder(db, "阿甲", trial=False),
        await new_card_holder(db, "阿乙", trial=False),
    )
    a, b = members
    c = await new_card_holder(db, "阿丙", trial=False)  # paid in October, refunded in November
    d = await new_card_holder(db, "阿丁")  # on a trial
    exclusive = await new_till_shop(db, name="会员专享店", discount_bp=1000)
    anyone = await new_till_shop(db, name="普通店", discount_bp=1000)
    async with db.session_scope() as session:
        await session.execute(
            update(Store).where(Store.id == exclusive.store.id).values(exclusive_to_members=True)
        )
        await session.execute(
            update(Membership)
            .where(Membership.member_id == c.id)
            .values(
                starts_at=datetime(2026, 10, 1, tzinfo=UTC),
                status=MembershipStatus.refunded,
                ended_at=datetime(2026, 11, 10, tzinfo=UTC),
            )
        )

    await visit(client, db, exclusive, a, "100.00")  # ¥10 off
    await visit(client, db, anyone, a, "1700.00")  # ¥170 off: 阿甲 has saved ¥180 >= ¥168
    await visit(client, db, anyone, b, "100.00")
    await visit(client, db, exclusive, d, "100.00")
    undone = await visit(client, db, exclusive, b, "100.00")
    await undo(client, exclusive, undone)

    async with db.session_scope() as session:
        h = await headline(session, date(2026, 11, 1))
        start, end = month_bounds(date(2026, 11, 1))
        ledger = await session.scalar(
            select(func.sum(JournalLine.amount_fen))
            .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(
                LedgerAccount.code == Account.member_savings,
                JournalEntry.posted_at >= start,
                JournalEntry.posted_at < end,
            )
        )
    now, before = h.current, h.previous
    assert now.paying_members == 2  # 阿甲, 阿乙; 阿丙 refunded
    assert now.trials == 1
    assert now.redemptions == 4  # the undone one is not a redemption
    assert now.savings_fen == -ledger == 1000 + 17000 + 1000 + 1000 == 20000
    assert (now.broken_even, now.break_even_percent) == (1, 50)  # 阿甲 only
    assert (now.exclusive_redemptions, now.scarcity_count_percent) == (2, 50)
    assert (now.exclusive_bills_fen, now.bills_fen, now.scarcity_value_percent) == (
        20000,
        200000,
        10,
    )
    # October: 阿丙 was paying then; nothing was redeemed
    assert (before.paying_members, before.trials, before.redemptions) == (1, 0, 0)
    assert (before.savings_fen, before.break_even_percent, before.scarcity_count_percent) == (
        0,
        0,
        0,
    )

    page = await client.get("/operator", headers=await login(client, await new_operator(db)))
    assert page.status_code == 200, page.text
    tiles = dict(
        re.findall(
            r'<li data-tile="(\w+)"(?: data-value="-?\d+")?[^>]*>.*?<strong>([^<]+)</strong>',
            page.text,
        )
    )
    assert tiles == {
        "paying_members": "2",
        "trials": "1",
        "redemptions": "4",
        "savings_fen": "¥200.00",
        "break_even": "50%",
        "scarcity": "50%",
    }
    assert re.search(r'data-tile="paying_members".*?data-delta="1"', page.text)
    assert "付费会员 2 人中的 1 人" in page.text

    october = await client.get(
        "/operator?month=2026-10", headers=await login(client, await new_operator(db))
    )
    assert 'data-month="2026-10"' in october.text
    assert 'rel="next"' in october.text


async def test_a_bad_month_is_explained_and_the_current_one_shown(client, db):
    clock.freeze(NOW)
    headers = await login(client, await new_operator(db))
    for asked, message in (("11/2026", "月份格式应为 2026-11"), ("2027-01", "那个月份还没有开始")):
        page = await client.get(f"/operator?month={asked}", headers=headers)
        assert page.status_code == 200
        assert message in page.text
        assert 'data-month="2026-11"' in page.text
