from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from redcard.kit import time as clock
from redcard.ledger.accounts import Account
from redcard.ledger.service import balance
from redcard.merchants.service import uses_by_store
from redcard.models import (
    CodeBurn,
    JournalEntry,
    Membership,
    MembershipStatus,
    Redemption,
    Terminal,
)
from tests.fixtures.factories import (
    assert_ledger_ok,
    code_for,
    count,
    idem,
    login,
    new_card_holder,
    new_till_shop,
    till,
)

NOON = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)


async def test_prepare_commit_undo_through_the_terminal_api(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db, discount_bp=1200)
    member = await new_card_holder(db)
    code = await code_for(db, member)

    preview = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": code, "bill_yuan": "128.50"},
        headers=till(shop),
    )
    assert preview.status_code == 201, preview.text
    p = preview.json()
    assert p["status"] == "prepared"
    assert p["member"] == "小** (" + member.phone[-4:] + ")"
    assert (p["bill_fen"], p["discount_fen"], p["charged_fen"]) == (12850, 1542, 11308)
    assert await count(db, CodeBurn) == 0
    assert await count(db, JournalEntry) == 0

    key = idem()
    done = await client.post(f"/api/v1/redemptions/{p['id']}/commit", headers=till(shop) | key)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "committed"
    again = await client.post(f"/api/v1/redemptions/{p['id']}/commit", headers=till(shop) | key)
    assert again.json() == done.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other_key = await client.post(
        f"/api/v1/redemptions/{p['id']}/commit", headers=till(shop) | idem()
    )
    assert other_key.status_code == 409
    assert other_key.json()["error"] == "AlreadyCommitted"

    async with db.session_scope() as session:
        assert await balance(session, Account.member_savings, str(member.id)) == -1542
        assert (
            await balance(session, Account.merchant_discounts_funded, str(shop.merchant.id)) == 1542
        )
        assert await uses_by_store(session, [shop.store.id]) == {shop.store.id: 1}
    dashboard = await client.get("/merchant", headers=await login(client, shop.staff))
    assert "核销次数: 1" in dashboard.text
    headers = await login(client, member)
    mine = (await client.get("/api/v1/me/code", headers=headers)).json()
    assert mine["savings_fen"] == 1542
    assert mine["last"]["discount_fen"] == 1542

    clock.advance(timedelta(minutes=59))
    undo_key = idem()
    undone = await client.post(f"/api/v1/redemptions/{p['id']}/undo", headers=till(shop) | undo_key)
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "undone"
    replay = await client.post(f"/api/v1/redemptions/{p['id']}/undo", headers=till(shop) | undo_key)
    assert replay.json() == undone.json()
    twice = await client.post(f"/api/v1/redemptions/{p['id']}/undo", headers=till(shop) | idem())
    assert twice.status_code == 409
    assert "already undone" in twice.json()["detail"]
    async with db.session_scope() as session:
        assert await balance(session, Account.member_savings, str(member.id)) == 0
        kinds = (await session.scalars(select(JournalEntry.kind))).all()
        assert sorted(kinds) == ["redemption", "redemption_undo"]
    assert (await client.get("/api/v1/me/code", headers=headers)).json()["savings_fen"] == 0
    await assert_ledger_ok(db)


async def test_staff_login_can_use_the_till(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    staff = await login(client, shop.staff)
    preview = await client.post(
        "/api/v1/redemptions/prepare",
        json={
            "store_id": str(shop.store.id),
            "code": await code_for(db, member),
            "bill_fen": 10000,
        },
        headers=staff,
    )
    assert preview.status_code == 201, preview.text
    rid = preview.json()["id"]
    done = await client.post(f"/api/v1/redemptions/{rid}/commit", headers=staff | idem())
    assert done.status_code == 200
    listed = await client.get(f"/api/v1/stores/{shop.store.id}/redemptions", headers=staff)
    assert [r["id"] for r in listed.json()] == [rid]


async def test_a_used_code_is_refused_with_the_generic_error(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    code = await code_for(db, member)
    first = await client.post(
        "/api/v1/redemptions/prepare", json={"code": code, "bill_fen": 5000}, headers=till(shop)
    )
    await client.post(
        f"/api/v1/redemptions/{first.json()['id']}/commit", headers=till(shop) | idem()
    )
    clock.advance(timedelta(seconds=20))  # still inside the code's window
    replay = await client.post(
        "/api/v1/redemptions/prepare", json={"code": code, "bill_fen": 5000}, headers=till(shop)
    )
    wrong = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": "1234567123456", "bill_fen": 5000},
        headers=till(shop),
    )
    assert replay.status_code == wrong.status_code == 422
    assert replay.json() == wrong.json()
    assert replay.json()["error"] == "InvalidCode"


async def test_code_tolerance_is_one_step(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    previous = await code_for(db, member, step_offset=-1)
    two_ago = await code_for(db, member, step_offset=-2)
    ok = await client.post(
        "/api/v1/redemptions/prepare", json={"code": previous, "bill_fen": 5000}, headers=till(shop)
    )
    assert ok.status_code == 201
    old = await client.post(
        "/api/v1/redemptions/prepare", json={"code": two_ago, "bill_fen": 5000}, headers=till(shop)
    )
    assert old.status_code == 422
    assert old.json()["error"] == "InvalidCode"


async def test_undo_after_an_hour_or_after_settlement_is_refused(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    ids = []
    for name in ("甲", "乙"):
        member = await new_card_holder(db, name=name)
        p = await client.post(
            "/api/v1/redemptions/prepare",
            json={"code": await code_for(db, member), "bill_fen": 10000},
            headers=till(shop),
        )
        await client.post(
            f"/api/v1/redemptions/{p.json()['id']}/commit", headers=till(shop) | idem()
        )
        ids.append(p.json()["id"])
    async with db.session_scope() as session:
        settled = await session.get_one(Redemption, uuid.UUID(ids[1]))
        settled.statement_id = uuid.uuid4()
    refused = await client.post(f"/api/v1/redemptions/{ids[1]}/undo", headers=till(shop) | idem())
    assert refused.status_code == 409
    assert "settled" in refused.json()["detail"]
    clock.advance(timedelta(hours=1, seconds=1))
    late = await client.post(f"/api/v1/redemptions/{ids[0]}/undo", headers=till(shop) | idem())
    assert late.status_code == 409
    assert "1-hour" in late.json()["detail"]
    async with db.session_scope() as session:
        assert await balance(session, Account.member_savings, str(settled.member_id)) == -1000
    await assert_ledger_ok(db)


async def test_only_a_usable_card_gets_the_discount(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    expired = await new_card_holder(db, name="甲")  # a 90-day trial
    refunded = await new_card_holder(db, name="乙", trial=False)
    headers = await login(client, refunded)
    code = await code_for(db, refunded)
    prepared = await client.post(
        "/api/v1/redemptions/prepare", json={"code": code, "bill_fen": 5000}, headers=till(shop)
    )
    assert prepared.status_code == 201
    async with db.session_scope() as session:
        card = await session.scalar(select(Membership).where(Membership.member_id == refunded.id))
        card.status = MembershipStatus.refunded
    # refunded between preview and confirm: the commit is refused and nothing is written
    late = await client.post(
        f"/api/v1/redemptions/{prepared.json()['id']}/commit", headers=till(shop) | idem()
    )
    assert late.status_code == 409
    assert late.json()["error"] == "CardNotUsable"
    assert await count(db, CodeBurn) == 0
    assert await count(db, JournalEntry) == 0
    again = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, refunded), "bill_fen": 5000},
        headers=till(shop),
    )
    assert again.status_code == 409
    assert again.json()["error"] == "CardNotUsable"
    assert (await client.get("/api/v1/me/code", headers=headers)).status_code == 404

    clock.advance(timedelta(days=91))
    old = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, expired), "bill_fen": 5000},
        headers=till(shop),
    )
    assert old.status_code == 409
    assert old.json()["error"] == "CardNotUsable"


async def test_a_revoked_terminal_key_is_refused(client, db):
    shop = await new_till_shop(db)
    async with db.session_scope() as session:
        terminal = await session.get_one(Terminal, shop.terminal_id)
        terminal.revoked_at = clock.utc_now()
    r = await client.post(
        "/api/v1/redemptions/prepare", json={"code": "1" * 13, "bill_fen": 5000}, headers=till(shop)
    )
    assert r.status_code == 401


async def test_excluded_categories_get_no_discount_at_the_till(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db, discount_bp=1000, min_bill_fen=5000, excluded_categories="烟酒")
    member = await new_card_holder(db)
    code = await code_for(db, member)

    async def prepare(**amounts: str):
        return await client.post(
            "/api/v1/redemptions/prepare", json={"code": code} | amounts, headers=till(shop)
        )

    # ¥128.00, of which ¥30.00 is cigarettes: 10% off the other ¥98.00
    ok = await prepare(bill_yuan="128", excluded_yuan="30")
    assert ok.status_code == 201, ok.text
    p = ok.json()
    assert (p["bill_fen"], p["excluded_fen"], p["discount_fen"], p["charged_fen"]) == (
        12800,
        3000,
        980,
        11820,
    )
    too_much = await prepare(bill_yuan="128", excluded_yuan="128.01")
    assert too_much.status_code == 422
    assert too_much.json()["error"] == "InvalidBill"
    below_minimum = await prepare(bill_yuan="128", excluded_yuan="80")  # ¥48.00 left
    assert below_minimum.status_code == 409
    assert below_minimum.json()["error"] == "BelowMinimumBill"

    done = await client.post(f"/api/v1/redemptions/{p['id']}/commit", headers=till(shop) | idem())
    assert done.status_code == 200, done.text
    assert done.json()["excluded_fen"] == 3000
    async with db.session_scope() as session:
        row = await session.get_one(Redemption, uuid.UUID(p["id"]))
        assert (row.bill_fen, row.excluded_fen, row.discount_fen) == (12800, 3000, 980)
        assert await balance(session, Account.member_savings, str(member.id)) == -980


async def test_a_store_without_excluded_categories_refuses_an_excluded_part(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    code = await code_for(db, await new_card_holder(db))
    response = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": code, "bill_fen": 12800, "excluded_fen": 100},
        headers=till(shop),
    )
    assert response.status_code == 422
    assert response.json()["error"] == "InvalidBill"
    assert await count(db, Redemption) == 0


async def test_an_ambiguous_bill_is_refused_and_changes_nothing(client, db):
    """A bill of "12,50" may be ¥12.50 with a decimal comma or ¥1,250: the till asks again."""
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    for bill in ("12,50", ",5", "5,", "1.234", "¥", "1e3", "--5", "1 000"):
        response = await client.post(
            "/api/v1/redemptions/prepare",
            json={"code": await code_for(db, member), "bill_yuan": bill},
            headers=till(shop),
        )
        assert response.status_code == 422, (bill, response.text)
        assert response.json()["error"] == "InvalidBill"
        assert response.json()["detail"]
    comma = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_yuan": "128", "excluded_yuan": "30,5"},
        headers=till(shop),
    )
    assert comma.status_code == 422, comma.text
    assert "ambiguous" in comma.json()["detail"]
    assert await count(db, Redemption) == 0
    assert await count(db, CodeBurn) == 0
    assert await count(db, JournalEntry) == 0
    grouped = await client.post(  # "," between groups of three digits is a thousands separator
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_yuan": "1,250.50"},
        headers=till(shop),
    )
    assert grouped.status_code == 201, grouped.text
    assert grouped.json()["bill_fen"] == 125050
