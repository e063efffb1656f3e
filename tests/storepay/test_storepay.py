"""持卡买单 through the API: preview, pay, the store sees it, undo, and bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from redcard.kit import time as clock
from redcard.ledger.accounts import Account
from redcard.ledger.service import balance
from redcard.models import (
    JournalEntry,
    MembershipStatus,
    Order,
    Redemption,
    Refund,
    RefundStatus,
    StoreStatus,
)
from redcard.worker import Worker
from tests.fixtures.factories import (
    assert_ledger_ok,
    count,
    get_redemption,
    idem,
    login,
    new_card_holder,
    new_shop,
    new_user,
    out_trade_no,
    pay_bill,
    start_bill,
)


async def test_member_pays_a_bill_and_the_store_sees_it(client, db, sandbox):
    shop = await new_shop(db, discount_bp=1000)
    member = await new_card_holder(db)
    headers = await login(client, member)
    code = shop.store.pay_code

    store = await client.get(f"/api/v1/pay/{code}", headers=headers)
    assert store.json()["store_name"] == shop.store.name
    quote = await client.post(
        f"/api/v1/pay/{code}/preview", json={"bill": "128.55"}, headers=headers
    )
    assert quote.status_code == 200, quote.text
    # 10% of ¥128.55 is 12.855: the discount rounds down to the fen
    assert {k: quote.json()[k] for k in ("bill_fen", "discount_fen", "charged_fen")} == {
        "bill_fen": 12855,
        "discount_fen": 1285,
        "charged_fen": 11570,
    }

    created = await start_bill(client, headers, code, "128.55")
    assert created["status"] == "prepared"
    assert created["charged_fen"] == 11570
    staff = await login(client, shop.staff[0])
    assert (await client.get("/api/v1/merchant/bills", headers=staff)).json() == []

    await sandbox.pay(out_trade_no(str(created["pay_url"])))
    await sandbox.flush_notifications()

    mine = await client.get(f"/api/v1/store-bills/{created['order_id']}", headers=headers)
    assert mine.json()["status"] == "committed"
    bills = (await client.get("/api/v1/merchant/bills", headers=staff)).json()
    assert [(b["charged_fen"], b["status"], b["store_name"]) for b in bills] == [
        (11570, "committed", shop.store.name)
    ]
    assert bills[0]["member"].startswith("小**")
    async with db.session_scope() as session:
        merchant = str(shop.merchant.id)
        assert await balance(session, Account.channel_clearing) == 11570
        assert await balance(session, Account.merchant_payable, merchant) == -11570
        assert await balance(session, Account.member_savings, str(member.id)) == -1285
        assert await balance(session, Account.merchant_discounts_funded, merchant) == 1285
    await assert_ledger_ok(db)


async def test_a_status_query_commits_the_bill_when_the_callback_is_lost(client, db, sandbox):
    shop = await new_shop(db)
    headers = await login(client, await new_card_holder(db))
    created = await start_bill(client, headers, shop.store.pay_code, "50")

    await sandbox.pay(out_trade_no(str(created["pay_url"])))  # notification held, never sent
    refreshed = await client.post(
        f"/api/v1/store-bills/{created['order_id']}/refresh", headers=headers
    )
    assert refreshed.json()["status"] == "committed"
    await sandbox.flush_notifications()  # the late callback changes nothing
    assert (await get_redemption(db, created["id"])).charged_fen == 4500
    await assert_ledger_ok(db)


@pytest.mark.parametrize(
    "bill",
    [
        *("0", "0.00", "-5", "1.234", "abc", "", "100000000.00", 12.5, 1000, None, "1e3"),
        *("12,50", ",5", "5,", "1 000", "¥", "--5"),  # ambiguous or malformed as typed
    ],
)
async def test_bad_bills_get_a_clear_4xx_and_change_nothing(client, db, sandbox, bill):
    shop = await new_shop(db)
    headers = await login(client, await new_card_holder(db))
    for path in ("preview", "bills"):
        response = await client.post(
            f"/api/v1/pay/{shop.store.pay_code}/{path}",
            json={"bill": bill},
            headers=headers | idem(),
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "InvalidInput"
    assert await count(db, Order) == 0
    assert await count(db, Redemption) == 0
    assert await count(db, JournalEntry) == 0


async def test_money_edges_full_width_one_fen_and_the_largest_bill(client, db, sandbox):
    shop = await new_shop(db, discount_bp=1000)
    headers = await login(client, await new_card_holder(db))

    async def quote(bill: str) -> tuple[int, int]:
        response = await client.post(
            f"/api/v1/pay/{shop.store.pay_code}/preview", json={"bill": bill}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()["discount_fen"], response.json()["charged_fen"]

    assert await quote("０.０１") == (0, 1)
    assert await quote("１２８") == (1280, 11520)
    assert await quote("99999999.99") == (999999999, 9000000000)


async def test_no_usable_card_no_discount_and_a_paused_store_takes_no_bills(client, db, sandbox):
    shop = await new_shop(db)
    paused = await new_shop(db, name="歇业小馆", status=StoreStatus.paused)
    no_card = await login(client, await new_user(db))
    response = await client.post(
        f"/api/v1/pay/{shop.store.pay_code}/bills", json={"bill": "10"}, headers=no_card | idem()
    )
    assert response.status_code == 403
    assert response.json()["error"] == "NoUsableCard"

    member = await new_card_holder(db)
    async with db.session_scope() as session:
        from sqlalchemy import update

        from redcard.models import Membership

        await session.execute(
            update(Membership)
            .where(Membership.member_id == member.id)
            .values(status=MembershipStatus.suspended)
        )
    suspended = await login(client, member)
    response = await client.post(
        f"/api/v1/pay/{shop.store.pay_code}/preview", json={"bill": "10"}, headers=suspended
    )
    assert response.status_code == 403

    holder = await login(client, await new_card_holder(db, name="小绿"))
    response = await client.post(
        f"/api/v1/pay/{paused.store.pay_code}/bills", json={"bill": "10"}, headers=holder | idem()
    )
    assert response.status_code == 409
    assert response.json()["error"] == "StoreNotAccepting"
    unknown = await client.get("/api/v1/pay/nope", headers=holder)
    assert unknown.status_code == 404
    assert await count(db, Order) == 0


async def test_staff_undo_refunds_the_member_and_reverses_the_money(
    client, db, sandbox, settings, channels
):
    shop = await new_shop(db, discount_bp=1200)
    member = await new_card_holder(db)
    headers = await login(client, member)
    bill = await pay_bill(client, sandbox, headers, shop.store.pay_code, "200")
    staff = await login(client, shop.staff[0])

    undo = await client.post(f"/api/v1/store-bills/by-id/{bill['id']}/undo", headers=staff | idem())
    assert undo.status_code == 200, undo.text
    assert undo.json()["status"] == "undone"
    again = await client.post(
        f"/api/v1/store-bills/by-id/{bill['id']}/undo", headers=staff | idem()
    )
    assert again.status_code == 409
    assert again.json()["error"] == "BillNotUndoable"

    worker = Worker(settings, db, channels)
    await worker.run_until_idle()  # submits the refund with its fixed refund number
    await sandbox.settle_refunds()
    await sandbox.flush_notifications()
    async with db.session_scope() as session:
        from sqlalchemy import select

        refund = (await session.scalars(select(Refund))).one()
        assert refund.status == RefundStatus.succeeded
        assert refund.amount_fen == 17600
        merchant = str(shop.merchant.id)
        assert await balance(session, Account.merchant_payable, merchant) == 0
        assert await balance(session, Account.channel_clearing) == 0
        assert await balance(session, Account.member_savings, str(member.id)) == 0
    mine = await client.get(f"/api/v1/store-bills/{bill['order_id']}", headers=headers)
    assert mine.json()["status"] == "undone"
    await assert_ledger_ok(db)


async def test_staff_cannot_undo_after_an_hour_nor_at_another_store(client, db, sandbox):
    shop = await new_shop(db, stores=2)
    headers = await login(client, await new_card_holder(db))
    clock.freeze(clock.utc_now())
    bill = await pay_bill(client, sandbox, headers, shop.stores[0].pay_code, "80")
    other_store_staff = await login(client, shop.staff[1])
    response = await client.post(
        f"/api/v1/store-bills/by-id/{bill['id']}/undo", headers=other_store_staff | idem()
    )
    assert response.status_code == 404
    listed = await client.get("/api/v1/merchant/bills", headers=other_store_staff)
    assert listed.json() == []

    clock.advance(timedelta(hours=1, seconds=1))
    staff = await login(client, shop.staff[0])
    late = await client.post(f"/api/v1/store-bills/by-id/{bill['id']}/undo", headers=staff | idem())
    assert late.status_code == 409
    assert late.json()["error"] == "UndoWindowClosed"
    assert await count(db, Refund) == 0
    # the owner sees the bills of every store of the merchant
    owner = await login(client, shop.owner)
    assert len((await client.get("/api/v1/merchant/bills", headers=owner)).json()) == 1


async def test_a_member_never_sees_another_members_bill(client, db, sandbox):
    shop = await new_shop(db)
    alice = await login(client, await new_card_holder(db, name="甲"))
    bob = await login(client, await new_card_holder(db, name="乙"))
    bill = await pay_bill(client, sandbox, alice, shop.store.pay_code, "30")
    response = await client.get(f"/api/v1/store-bills/{bill['order_id']}", headers=bob)
    assert response.status_code == 404
    undo = await client.post(f"/api/v1/store-bills/by-id/{bill['id']}/undo", headers=bob | idem())
    assert undo.status_code == 403


async def test_the_same_idempotency_key_pays_one_bill(client, db, sandbox):
    shop = await new_shop(db)
    headers = await login(client, await new_card_holder(db))
    key = idem()
    first = await client.post(
        f"/api/v1/pay/{shop.store.pay_code}/bills", json={"bill": "66"}, headers=headers | key
    )
    second = await client.post(
        f"/api/v1/pay/{shop.store.pay_code}/bills", json={"bill": "66"}, headers=headers | key
    )
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    other = await client.post(
        f"/api/v1/pay/{shop.store.pay_code}/bills", json={"bill": "67"}, headers=headers | key
    )
    assert other.status_code == 409
    assert await count(db, Order) == 1


async def test_the_discount_skips_the_stores_excluded_categories(client, db, sandbox):
    shop = await new_shop(db, discount_bp=1000, excluded_categories="烟酒")
    plain = await new_shop(db, name="老盛昌")
    headers = await login(client, await new_card_holder(db))
    quote = await client.post(
        f"/api/v1/pay/{shop.store.pay_code}/preview",
        json={"bill": "128", "excluded": "30"},
        headers=headers,
    )
    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert (body["excluded_fen"], body["discount_fen"], body["charged_fen"]) == (3000, 980, 11820)
    started = await client.post(
        f"/api/v1/pay/{shop.store.pay_code}/bills",
        json={"bill": "128", "excluded": "30"},
        headers=headers | idem(),
    )
    assert started.status_code == 201, started.text
    assert started.json()["excluded_fen"] == 3000
    assert started.json()["charged_fen"] == 11820
    for store, excluded in ((shop.store, "128.01"), (plain.store, "1")):
        refused = await client.post(
            f"/api/v1/pay/{store.pay_code}/preview",
            json={"bill": "128", "excluded": excluded},
            headers=headers,
        )
        assert refused.status_code == 422, refused.text


async def test_a_comma_only_separates_thousands(client, db, sandbox):
    """A comma separates thousands ("1,250.50"); "30,5" (a decimal comma?) is refused."""
    shop = await new_shop(db, discount_bp=1000, excluded_categories="烟酒")
    headers = await login(client, await new_card_holder(db))

    async def preview(bill: str, excluded: str | None = None):
        return await client.post(
            f"/api/v1/pay/{shop.store.pay_code}/preview",
            json={"bill": bill, "excluded": excluded},
            headers=headers,
        )

    grouped = await preview("1,250.50")
    assert grouped.status_code == 200, grouped.text
    assert (grouped.json()["discount_fen"], grouped.json()["charged_fen"]) == (12505, 112545)
    for excluded in ("30,5", ",5", "5,"):
        refused = await preview("128", excluded)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "InvalidInput"
        assert "ambiguous" in refused.json()["detail"]
    assert await count(db, Order) == 0
    assert await count(db, Redemption) == 0
