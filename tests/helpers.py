"""Assertions shared by tests."""

from __future__ import annotations

from sqlalchemy import func, select

from redcard.db import Database
from redcard.ledger.accounts import Account
from redcard.ledger.service import check
from redcard.models import JournalEntry, JournalLine, LedgerAccount, Refund, RefundStatus


async def assert_ledger_ok(db: Database) -> None:
    async with db.session_scope() as session:
        report = await check(session)
    assert report.ok, report


async def count(db: Database, model: type) -> int:
    async with db.session_scope() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def settled_refunds_fen(db: Database) -> tuple[int, int]:
    """(fen the ledger's settlement entries moved out of refunds_payable, fen of the refunds
    that succeeded): equal when every settled refund was posted exactly once."""
    async with db.session_scope() as session:
        posted = await session.scalar(
            select(func.coalesce(func.sum(JournalLine.amount_fen), 0))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
            .where(JournalEntry.kind == "refund", LedgerAccount.code == Account.refunds_payable)
        )
        refunded = await session.scalar(
            select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
                Refund.status == RefundStatus.succeeded
            )
        )
    return int(posted or 0), int(refunded or 0)
