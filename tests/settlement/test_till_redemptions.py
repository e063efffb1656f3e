"""Till (member code) redemptions of the day go on the statement for information: the member
paid the store directly, so they move no money, but they are marked settled and can no longer
be undone at the till. A merchant with only till redemptions still gets its statement."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from redcard.kit import time as clock
from redcard.ledger.savings import savings_entry
from redcard.ledger.service import post
from redcard.membership import repository as membership_repo
from redcard.models import (
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    Statement,
    StatementLine,
    StatementLineKind,
    User,
)
from redcard.redemption.service import UndoRefused
from redcard.redemption.service import undo as till_undo
from redcard.redemption.till import Till
from redcard.settlement import service as settlement
from tests.fixtures.factories import (
    Shop,
    assert_ledger_ok,
    at,
    login,
    new_card_holder,
    new_shop,
    pay_bill,
)

DAY = date(2026, 11, 14)


async def _till_redemption(db, shop: Shop, member: User, bill_fen: int) -> Redemption:  # type: ignore[no-untyped-def]
    """A committed code redemption with its savings memo, as the till writes it."""
    async with db.session_scope() as session:
        card = await membership_repo.get_active_by_member(session, member.id)
        assert card is not None
        discount = shop.store.discount_for(bill_fen)
        now = clock.utc_now()
        redemption = Redemption(
            kind=RedemptionKind.code,
            status=RedemptionStatus.committed,
            store_id=shop.store.id,
            merchant_id=shop.merchant.id,
            member_id=member.id,
            membership_id=card.id,
            staff_id=shop.staff[0].id,
            code_step=int(now.timestamp()) // 30,
            bill_fen=bill_fen,
            discount_fen=discount,
            charged_fen=bill_fen - discount,
            prepared_at=now,
            committed_at=now,
        )
        session.add(redemption)
        await session.flush()
        await post(session, savings_entry(redemption))
        return redemption


async def test_till_redemptions_are_listed_and_frozen_by_settlement(client, db, sandbox):
    clock.freeze(at(DAY, 23, 40))
    shop = await new_shop(db, discount_bp=1000)
    only_till = await new_shop(db, name="只核销的店", discount_bp=1500)
    member = await new_card_holder(db)
    headers = await login(client, member)
    await pay_bill(client, sandbox, headers, shop.store.pay_code, "100")
    used = await _till_redemption(db, shop, member, 8000)
    other = await _till_redemption(db, only_till, member, 6000)

    clock.freeze(at(DAY + timedelta(days=1), 0, 10))  # inside the till's 1-hour undo window
    async with db.session_scope() as session:
        statements = {s.merchant_id: s for s in await settlement.settle_day(session, DAY)}
    mine = statements[shop.merchant.id]
    assert (mine.bills_count, mine.charged_fen, mine.discount_fen) == (1, 9000, 1000)
    assert mine.net_payable_fen == 9000 - 54
    theirs = statements[only_till.merchant.id]
    assert (theirs.bills_count, theirs.charged_fen, theirs.net_payable_fen) == (0, 0, 0)

    async with db.session_scope() as session:
        lines = (
            await session.scalars(
                select(StatementLine).where(StatementLine.kind == StatementLineKind.code)
            )
        ).all()
        assert {(ln.redemption_id, ln.discount_fen) for ln in lines} == {
            (used.id, 800),
            (other.id, 900),
        }
        for statement in (mine, theirs):
            figures = await settlement.ledger_figures(
                session, await session.get_one(Statement, statement.id)
            )
            assert figures.till_discount_fen == (800 if statement is mine else 900)
        staff = await session.get_one(User, shop.staff[0].id)
        with pytest.raises(UndoRefused, match="settled"):
            await till_undo(session, Till(ip="127.0.0.1", staff=staff), used.id)

    owner = await login(client, shop.owner)
    page = await client.get(
        f"/merchant/statements/{mine.id}", headers={"accept": "text/html"} | owner
    )
    assert "到店核销" in page.text
    assert 'class="ok ledger-check"' in page.text
    await assert_ledger_ok(db)
