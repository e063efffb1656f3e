"""An undo racing settlement comes out one way: an undone item on the statement, or a settled
bill and a refused undo. Never both, never neither."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest

from redcard.errors import AppError
from redcard.kit import time as clock
from redcard.models import Redemption, RedemptionStatus, Refund, User
from redcard.settlement import repository as settlement_repo
from redcard.settlement import service as settlement
from redcard.storepay import service as storepay
from tests.fixtures.factories import (
    assert_ledger_ok,
    at,
    count,
    login,
    new_card_holder,
    new_shop,
    pay_bill,
)

pytestmark = pytest.mark.postgres_only


async def test_undo_racing_settlement_has_exactly_one_outcome(client, db, sandbox, monkeypatch):
    first_day = date(2026, 11, 10)
    clock.freeze(at(first_day, 9))
    shop = await new_shop(db)
    headers = await login(client, await new_card_holder(db))
    outcomes: list[str] = []
    locked = asyncio.Event()
    lock_day = settlement_repo.lock_day_redemptions

    async def lock_and_signal(*args, **kwargs):  # type: ignore[no-untyped-def]
        rows = await lock_day(*args, **kwargs)
        locked.set()  # settlement holds the row locks now
        return rows

    monkeypatch.setattr(settlement_repo, "lock_day_redemptions", lock_and_signal)
    for n in range(6):
        day = first_day + timedelta(days=n)
        clock.freeze(at(day, 23, 45))
        bill = await pay_bill(client, sandbox, headers, shop.store.pay_code, f"{100 + n}.00")
        redemption_id = uuid.UUID(str(bill["id"]))
        clock.freeze(at(day + timedelta(days=1), 0, 5))  # day over; undo window still open

        async def settle(day: date = day) -> str:
            async with db.session_scope() as session:
                statement, _ = await settlement.settle_merchant_day(session, shop.merchant.id, day)
                assert statement is not None
                return f"bills={statement.bills_count},undone={statement.undone_count}"

        async def undo(redemption_id: uuid.UUID = redemption_id, wait: bool = False) -> str:
            if wait:  # odd rounds: start while settlement holds the lock, so undo must wait
                await locked.wait()
            try:
                async with db.session_scope() as session:
                    staff = await session.get_one(User, shop.staff[0].id)
                    await storepay.undo_bill(session, staff, redemption_id)
                return "undone"
            except AppError as exc:
                return exc.name

        locked.clear()
        tasks = [settle(), undo(wait=True)] if n % 2 else [undo(), settle()]
        results = await asyncio.gather(*tasks)
        statement_said, undo_said = (results[0], results[1]) if n % 2 else (results[1], results[0])
        async with db.session_scope() as session:
            redemption = await session.get_one(Redemption, redemption_id)
        if undo_said == "undone":
            assert statement_said == "bills=0,undone=1"
            assert redemption.status == RedemptionStatus.undone
        else:
            assert undo_said == "AlreadySettled"
            assert statement_said == "bills=1,undone=0"
            assert redemption.status == RedemptionStatus.committed
        assert redemption.statement_id is not None
        outcomes.append(undo_said)
    assert set(outcomes) == {"undone", "AlreadySettled"}  # both sides of the race were run
    assert await count(db, Refund) == outcomes.count("undone")
    await assert_ledger_ok(db)
