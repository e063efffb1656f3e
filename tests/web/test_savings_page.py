"""The 省钱账本: every saving with its store, undos as their own lines, a companion's uses on
the holder's book, and the card's ring to 回本, all equal to the ledger. On both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from redcard.kit import time as clock
from redcard.ledger.savings import savings_fen
from redcard.web.render import LANG_COOKIE
from tests.companions.helpers import pair, redeem
from tests.fixtures.factories import (
    code_for,
    idem,
    login,
    new_card_holder,
    new_till_shop,
    new_user,
    till,
)

NOON = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)


def saved_fen(html: str) -> list[int]:
    return [int(v) for v in re.findall(r'class="saving[^"]*" data-saved-fen="(-?\d+)"', html)]


async def test_the_book_lists_each_saving_and_adds_up_to_the_ledger(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db, name="小杨生煎", discount_bp=1000)
    member = await new_card_holder(db, trial=False)
    member_h = await login(client, member)
    friend = await new_user(db, name="阿花")
    friend_h = await login(client, friend)
    await pair(client, member_h, friend, friend_h)

    await redeem(client, till(shop), await code_for(db, member))  # ¥100 bill: ¥10 saved
    clock.advance(timedelta(minutes=5))
    undone = await redeem(client, till(shop), await code_for(db, member))
    clock.advance(timedelta(minutes=5))
    back = await client.post(
        f"/api/v1/redemptions/{undone['id']}/undo", headers=till(shop) | idem()
    )
    assert back.status_code == 200, back.text
    clock.advance(timedelta(minutes=5))
    await redeem(client, till(shop), await code_for(db, friend))  # on the member's card

    page = await client.get("/card/savings", headers=member_h)
    assert page.status_code == 200, page.text
    html = page.text
    assert saved_fen(html) == [1000, -1000, 1000, 1000]  # newest first
    assert html.count("家人使用") == 1
    assert html.count("收银台已撤销") == 1
    assert "小杨生煎（南京西路店）" in html
    async with db.session_scope() as session:
        ledger = await savings_fen(session, member.id)
    assert ledger == sum(saved_fen(html)) == 2000
    ring = re.search(
        r'id="break-even" data-saved-fen="(\d+)" data-fee-fen="(\d+)" data-percent="(\d+)"', html
    )
    assert ring is not None
    assert ring.groups() == ("2000", "16800", "11")  # ¥20 of ¥168 is 11%
    assert 'stroke-dasharray="11 100"' in html
    assert "再省 ¥148.00 就回本了。" in html
    assert re.search(r'id="total-saved">¥20.00<', html)
    assert re.search(r'id="month-saved">¥20.00<', html)

    client.cookies.set(LANG_COOKIE, "en")
    try:
        english = await client.get("/card/savings", headers=member_h)
    finally:
        client.cookies.delete(LANG_COOKIE)
    assert "Save ¥148.00 more and the card has paid for itself." in english.text

    # the companion's own book is empty and says where their savings went
    theirs = await client.get("/card/savings", headers=friend_h)
    assert saved_fen(theirs.text) == []
    assert 'id="shared-card"' in theirs.text
    assert 'id="break-even"' not in theirs.text


async def test_a_trial_card_has_no_fee_to_pay_back(client, db):
    member = await new_card_holder(db, trial=True)
    page = await client.get("/card/savings", headers=await login(client, member))
    assert page.status_code == 200
    assert "体验卡不收费" in page.text
    assert "还没有优惠记录" in page.text
    assert saved_fen(page.text) == []


async def test_the_page_is_for_members_only(client, db):
    anonymous = await client.get("/card/savings", follow_redirects=False)
    assert anonymous.status_code in (302, 303)
    assert "/login" in anonymous.headers["location"]
