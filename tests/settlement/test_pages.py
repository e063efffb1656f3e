"""Settlement pages: the merchant's statement list and detail, the operator's payout."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from redcard.kit import time as clock
from redcard.ledger.accounts import Account
from redcard.ledger.service import balance
from redcard.models import Statement, StatementStatus
from redcard.settlement import service as settlement
from tests.fixtures.factories import (
    assert_ledger_ok,
    at,
    login,
    new_card_holder,
    new_shop,
    new_user,
    pay_bill,
)

HTML = {"accept": "text/html"}
DAY = date(2026, 11, 12)


async def test_merchant_reads_statements_and_the_operator_pays_out(client, db, sandbox):
    clock.freeze(at(DAY, 12))
    shop = await new_shop(db, name="老吉士")
    holder = await login(client, await new_card_holder(db))
    await pay_bill(client, sandbox, holder, shop.store.pay_code, "420")
    clock.freeze(at(DAY + timedelta(days=1), 2))
    async with db.session_scope() as session:
        await settlement.settle_day(session, DAY)
        statement = (await session.scalars(select(Statement))).one()

    owner = await login(client, shop.owner)
    listing = await client.get("/merchant/statements", headers=HTML | owner)
    assert listing.status_code == 200
    assert DAY.isoformat() in listing.text
    assert "¥375.73" in listing.text  # ¥378.00 collected less the 0.6% fee of ¥2.27
    detail = await client.get(f"/merchant/statements/{statement.id}", headers=HTML | owner)
    assert "每一项金额均与总账一致" in detail.text
    exported = await client.get(f"/merchant/statements/{statement.id}/csv", headers=owner)
    assert "老吉士（1号店）" in exported.text

    operator = await login(client, await new_user(db, role="operator", name="运营"))
    page = await client.get(f"/operator/statements?day={DAY}", headers=HTML | operator)
    assert f'data-statement="{statement.id}"' in page.text
    client.cookies.set("redcard_csrf", "csrf-token-1234")
    try:
        form = {"csrf": "csrf-token-1234", "idempotency_key": "payout-key-1234"}
        done = await client.post(
            f"/operator/statements/{statement.id}/payout", data=form, headers=HTML | operator
        )
        assert done.status_code == 303
        replay = await client.post(
            f"/operator/statements/{statement.id}/payout", data=form, headers=HTML | operator
        )
        assert replay.status_code == 303  # the same form again: the stored outcome, no 2nd post
        again = await client.post(
            f"/operator/statements/{statement.id}/payout",
            data=form | {"idempotency_key": "payout-key-5678"},
            headers=HTML | operator,
        )
        assert again.status_code == 409
        assert "该结算单已打款" in again.text
    finally:
        client.cookies.delete("redcard_csrf")
    async with db.session_scope() as session:
        paid = await session.get_one(Statement, statement.id)
        assert paid.status == StatementStatus.paid_out
        assert await balance(session, Account.merchant_payable, str(shop.merchant.id)) == 0
        assert (
            await balance(session, Account.channel_clearing) == 227
        )  # the fee stays with the platform
    await assert_ledger_ok(db)
