"""Queries for settlement: what a merchant-day holds, earlier sales, statements, ledger sums."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from redcard.kit.sql import for_update_kwargs
from redcard.models import (
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Merchant,
    Payment,
    PaymentStatus,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    Refund,
    Statement,
    StatementLine,
    StatementLineKind,
    StatementStatus,
    Store,
)


def _unsettled_of_day(start: datetime, end: datetime) -> ColumnElement[bool]:
    """买单 bills and till (code) redemptions of the day, not yet on a statement."""
    return and_(
        Redemption.status.in_([RedemptionStatus.committed, RedemptionStatus.undone]),
        Redemption.statement_id.is_(None),
        Redemption.committed_at >= start,
        Redemption.committed_at < end,
    )


def _clawback_due(end: datetime) -> ColumnElement[bool]:
    """Settled as a bill, refunded since, not yet clawed back."""
    settled = aliased(StatementLine)
    clawed = aliased(StatementLine)
    return and_(
        Redemption.kind == RedemptionKind.pay,
        Redemption.status == RedemptionStatus.undone,
        Redemption.undone_at < end,
        exists().where(
            settled.redemption_id == Redemption.id, settled.kind == StatementLineKind.bill
        ),
        ~exists().where(
            clawed.redemption_id == Redemption.id, clawed.kind == StatementLineKind.clawback
        ),
    )


async def merchants_with_activity(
    session: AsyncSession, start: datetime, end: datetime
) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Redemption.merchant_id)
        .where(or_(_unsettled_of_day(start, end), _clawback_due(end)))
        .distinct()
    )
    return sorted(set(rows))


async def merchants_with_clawbacks(session: AsyncSession, end: datetime) -> set[uuid.UUID]:
    """One query per day, so merchants without clawbacks (nearly all) skip that lookup."""
    return set(
        await session.scalars(select(Redemption.merchant_id).where(_clawback_due(end)).distinct())
    )


async def lock_day_redemptions(
    session: AsyncSession, merchant_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[Redemption]:
    """The merchant's unsettled redemptions of the day (both kinds), locked in primary-key
    order."""
    return (
        await session.scalars(
            select(Redemption)
            .where(Redemption.merchant_id == merchant_id, _unsettled_of_day(start, end))
            .order_by(Redemption.id)
            .with_for_update(**for_update_kwargs(session))
            .execution_options(populate_existing=True)
        )
    ).all()


async def lock_clawbacks(
    session: AsyncSession, merchant_id: uuid.UUID, end: datetime
) -> Sequence[Redemption]:
    return (
        await session.scalars(
            select(Redemption)
            .where(Redemption.merchant_id == merchant_id, _clawback_due(end))
            .order_by(Redemption.id)
            .with_for_update(**for_update_kwargs(session))
            .execution_options(populate_existing=True)
        )
    ).all()


async def out_trade_nos(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not order_ids:
        return {}
    rows = await session.execute(
        select(Payment.order_id, Payment.out_trade_no).where(
            Payment.order_id.in_(list(order_ids)), Payment.status == PaymentStatus.succeeded
        )
    )
    return {order_id: ref for order_id, ref in rows}


async def sales_before(session: AsyncSession, merchant_id: uuid.UUID, day: date) -> int:
    """Cumulative 买单 sales (amounts collected) on the merchant's earlier statements."""
    value = await session.scalar(
        select(func.coalesce(func.sum(Statement.charged_fen), 0)).where(
            Statement.merchant_id == merchant_id, Statement.day < day
        )
    )
    return int(value or 0)


async def get_statement(
    session: AsyncSession, merchant_id: uuid.UUID, day: date
) -> Statement | None:
    return await session.scalar(
        select(Statement).where(Statement.merchant_id == merchant_id, Statement.day == day)
    )


async def list_statements(
    session: AsyncSession,
    merchant_ids: Sequence[uuid.UUID] | None = None,
    day: date | None = None,
    limit: int = 100,
) -> Sequence[Statement]:
    stmt = select(Statement).order_by(Statement.day.desc(), Statement.merchant_id).limit(limit)
    if merchant_ids is not None:
        if not merchant_ids:
            return []
        stmt = stmt.where(Statement.merchant_id.in_(list(merchant_ids)))
    if day is not None:
        stmt = stmt.where(Statement.day == day)
    return (await session.scalars(stmt)).all()


async def lines_of(
    session: AsyncSession, statement_id: uuid.UUID
) -> list[tuple[StatementLine, str]]:
    rows = await session.execute(
        select(StatementLine, Store.name)
        .join(Store, Store.id == StatementLine.store_id)
        .where(StatementLine.statement_id == statement_id)
        .order_by(StatementLine.kind, StatementLine.at, StatementLine.id)
    )
    return [(line, name) for line, name in rows]


async def merchant_names(
    session: AsyncSession, merchant_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    ids = sorted(set(merchant_ids))
    if not ids:
        return {}
    rows = await session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(ids)))
    return {merchant_id: name for merchant_id, name in rows}


async def ledger_sum(
    session: AsyncSession, account: str, owner: str, kind: str, refs: Sequence[str]
) -> int:
    """Sum of one account's lines in the entries (kind, ref in refs)."""
    if not refs:
        return 0
    total = 0
    chunk = 500
    for i in range(0, len(refs), chunk):
        value = await session.scalar(
            select(func.coalesce(func.sum(JournalLine.amount_fen), 0))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
            .where(
                LedgerAccount.code == account,
                LedgerAccount.owner_key == owner,
                JournalEntry.kind == kind,
                JournalEntry.ref.in_(list(refs[i : i + chunk])),
            )
        )
        total += int(value or 0)
    return total


async def refund_refs(session: AsyncSession, out_trade_nos: Sequence[str]) -> list[str]:
    if not out_trade_nos:
        return []
    rows = await session.scalars(
        select(Refund.out_refund_no)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Payment.out_trade_no.in_(list(out_trade_nos)))
    )
    return list(rows)


async def mark_settled(
    session: AsyncSession, redemption_ids: Sequence[uuid.UUID], statement_id: uuid.UUID
) -> None:
    """Set statement_id on rows the caller holds locked (one UPDATE per 1,000 ids)."""
    for i in range(0, len(redemption_ids), 1000):
        await session.execute(
            update(Redemption)
            .where(Redemption.id.in_(list(redemption_ids[i : i + 1000])))
            .values(statement_id=statement_id)
            .execution_options(synchronize_session=False)
        )


async def lock_owing_statements(
    session: AsyncSession, merchant_id: uuid.UUID, before: date
) -> Sequence[Statement]:
    """Earlier open statements with a negative net: the merchant owes us their clawbacks."""
    return (
        await session.scalars(
            select(Statement)
            .where(
                Statement.merchant_id == merchant_id,
                Statement.day < before,
                Statement.status == StatementStatus.open,
                Statement.net_payable_fen < 0,
            )
            .order_by(Statement.day)
            .with_for_update(**for_update_kwargs(session))
            .execution_options(populate_existing=True)
        )
    ).all()
