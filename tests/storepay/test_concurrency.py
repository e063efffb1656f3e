"""The refundable amount is a limit: parallel undos of one 买单 refund it once."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from redcard.errors import AppError
from redcard.models import Payment, Refund, User
from redcard.storepay import service
from tests.fixtures.factories import (
    assert_ledger_ok,
    count,
    login,
    new_card_holder,
    new_shop,
    pay_bill,
)

pytestmark = pytest.mark.postgres_only


async def test_parallel_undos_refund_a_bill_once(client, db, sandbox):
    shop = await new_shop(db)
    headers = await login(client, await new_card_holder(db))
    bill = await pay_bill(client, sandbox, headers, shop.store.pay_code, "88.80")
    redemption_id = uuid.UUID(str(bill["id"]))
    staff_id = shop.staff[0].id

    async def undo() -> str:
        try:
            async with db.session_scope() as session:
                staff = await session.get_one(User, staff_id)
                await service.undo_bill(session, staff, redemption_id)
            return "undone"
        except AppError as exc:
            return exc.name

    outcomes = await asyncio.gather(*(undo() for _ in range(20)))
    assert outcomes.count("undone") == 1
    assert set(outcomes) == {"undone", "BillNotUndoable"}
    assert await count(db, Refund) == 1
    async with db.session_scope() as session:
        refund = (await session.scalars(select(Refund))).one()
        payment = await session.get_one(Payment, refund.payment_id)
        assert refund.amount_fen == payment.amount_fen == int(str(bill["charged_fen"]))
    await assert_ledger_ok(db)
