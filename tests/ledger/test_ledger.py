from __future__ import annotations

import pytest
from sqlalchemy import update

from redcard.ledger import service as ledger
from redcard.models import JournalEntry, LedgerAccount
from tests.fixtures.factories import count


async def test_balanced_entries_post_and_move_balances(db):
    async with db.session_scope() as session:
        await ledger.post(
            session,
            ledger.Entry(
                "t",
                "r1",
                [
                    ledger.Line("cash", 500),
                    ledger.Line("revenue", -300),
                    ledger.Line("member_savings", -200, owner="m1"),
                ],
            ),
        )
        await ledger.post(
            session,
            ledger.Entry("t", "r2", [ledger.Line("cash", -100), ledger.Line("revenue", 100)]),
        )
    async with db.session_scope() as session:
        assert await ledger.balance(session, "cash") == 400
        assert await ledger.balance(session, "revenue") == -200
        assert await ledger.balance(session, "member_savings", "m1") == -200
        report = await ledger.check(session)
    assert report.ok
    assert report.entries == 2


async def test_unbalanced_or_one_line_entries_are_refused(db):
    async with db.session_scope() as session:
        with pytest.raises(ledger.UnbalancedEntry):
            await ledger.post(
                session,
                ledger.Entry("t", "bad", [ledger.Line("cash", 100), ledger.Line("revenue", -99)]),
            )
        with pytest.raises(ledger.UnbalancedEntry):
            await ledger.post(session, ledger.Entry("t", "one", [ledger.Line("cash", 0)]))
    assert await count(db, JournalEntry) == 0


async def test_an_event_posts_once(db):
    entry = ledger.Entry("payment", "P1", [ledger.Line("a", 1), ledger.Line("b", -1)])
    async with db.session_scope() as session:
        await ledger.post(session, entry)
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        async with db.session_scope() as session:
            await ledger.post(session, entry)
    assert await count(db, JournalEntry) == 1


async def test_check_finds_a_drifted_balance(db):
    async with db.session_scope() as session:
        await ledger.post(
            session, ledger.Entry("t", "r", [ledger.Line("cash", 5), ledger.Line("revenue", -5)])
        )
    async with db.session_scope() as session:
        await session.execute(
            update(LedgerAccount).where(LedgerAccount.code == "cash").values(balance_fen=6)
        )
    async with db.session_scope() as session:
        report = await ledger.check(session)
    assert not report.ok
    assert report.drifted_accounts == ["cash"]
