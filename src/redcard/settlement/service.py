"""Merchant settlement: one statement per merchant and business day (the programme's
time zone, REDCARD_TIMEZONE; `kit.time.day_bounds`).

A statement holds the day's 买单 bills (gross, member discounts, amount collected), the
payment fee and commission, bills undone before settlement (no effect on the money), and
clawbacks (bills refunded after an earlier statement settled them). Net payable =
collected - fee - commission - clawbacks.

Fees. Per merchant: `commission_bp` on the amount collected, and `payment_fee_bp` on the part
of the merchant's cumulative 买单 sales up to `fee_threshold_fen`, `fee_above_bp` beyond it
(default 0% / 0.6% on the first ¥1,000,000 / configurable). Cumulative sales are the amounts
collected on the merchant's earlier statements. The one rounding rule: each fee band is
computed on the statement's total for that band with `kit.money.fee_fen` (half up to the fen),
so a statement's fee never depends on how the day was split into bills. A clawback does not
return the fee already charged.

Ledger. The money is already on merchant_payable (owner = merchant) from the payments and
refunds; settlement adds the fee entry (Dr merchant_payable / Cr payment_fee_income,
commission_income), and a payout adds Dr merchant_payable / Cr channel_clearing.
`ledger_figures` recomputes every statement figure from journal lines.

Concurrency. Settlement locks the merchant row (one settlement per merchant at a time) and
then the day's redemptions in primary-key order before marking them settled (statement_id);
undo takes the same redemption row lock, so an undo racing settlement is either an undone
item on the statement or refused/clawed back after it, never both.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from redcard.errors import Conflict, InvalidInput, NotFound
from redcard.kit.ids import new_id
from redcard.kit.money import BASIS_POINTS, fee_fen, format_fen
from redcard.kit.time import business_day, day_bounds, local_iso, utc_now
from redcard.ledger.accounts import Account
from redcard.ledger.savings import SAVINGS_KIND
from redcard.ledger.service import Entry, Line, post
from redcard.merchants import access
from redcard.models import (
    UNDO_WINDOW,
    Merchant,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    Statement,
    StatementLine,
    StatementLineKind,
    StatementStatus,
    User,
)
from redcard.settlement import repository as repo

FEE_KIND = "settlement_fee"
PAYOUT_KIND = "payout"
CATCH_UP_DAYS = 7


class DayNotOver(Conflict):
    pass


class StatementNotFound(NotFound):
    pass


class NothingToPayOut(Conflict):
    pass


class AlreadyPaidOut(Conflict):
    pass


class MerchantNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Fees:
    fee_fen: int
    commission_fen: int
    below_threshold_fen: int
    above_threshold_fen: int


def fees_for(merchant: Merchant, charged_fen: int, sales_before_fen: int) -> Fees:
    """The merchant's fee plan applied to one statement's sales (pure; see module doc)."""
    room = max(0, merchant.fee_threshold_fen - sales_before_fen)
    below = min(charged_fen, room)
    above = charged_fen - below
    return Fees(
        fee_fen=fee_fen(below, merchant.payment_fee_bp) + fee_fen(above, merchant.fee_above_bp),
        commission_fen=fee_fen(charged_fen, merchant.commission_bp),
        below_threshold_fen=below,
        above_threshold_fen=above,
    )


def _line(
    r: Redemption, kind: StatementLineKind, statement_id: uuid.UUID, ref: str
) -> dict[str, object]:
    at = r.undone_at if kind == StatementLineKind.clawback else r.committed_at
    assert at is not None
    return {
        "id": new_id(),
        "statement_id": statement_id,
        "redemption_id": r.id,
        "kind": kind,
        "store_id": r.store_id,
        "at": at,
        "bill_fen": r.bill_fen,
        "discount_fen": r.discount_fen,
        "charged_fen": r.charged_fen,
        "reference": ref,
    }


async def settle_merchant_day(
    session: AsyncSession, merchant_id: uuid.UUID, day: date, *, clawbacks_possible: bool = True
) -> tuple[Statement | None, bool]:
    """The merchant's statement for `day`: (statement, created now). Idempotent; None when the
    merchant had no activity. `clawbacks_possible=False` skips the clawback lookup (the caller
    checked for the whole day)."""
    existing = await repo.get_statement(session, merchant_id, day)
    if existing is not None:
        return existing, False
    merchant = await session.get(
        Merchant, merchant_id, with_for_update=True, populate_existing=True
    )
    if merchant is None:
        raise MerchantNotFound("no such merchant")
    existing = await repo.get_statement(session, merchant_id, day)  # settled while we waited
    if existing is not None:
        return existing, False
    start, end = day_bounds(day)
    todays = await repo.lock_day_redemptions(session, merchant_id, start, end)
    clawbacks = await repo.lock_clawbacks(session, merchant_id, end) if clawbacks_possible else []
    if not todays and not clawbacks:
        return None, False
    pay = [r for r in todays if r.kind == RedemptionKind.pay]
    bills = [r for r in pay if r.status == RedemptionStatus.committed]
    undone = [r for r in pay if r.status == RedemptionStatus.undone]
    # till redemptions: listed for information (no money passes through us), and marked
    # settled so the till can no longer undo them
    at_till = [
        r
        for r in todays
        if r.kind == RedemptionKind.code and r.status == RedemptionStatus.committed
    ]
    refs = await repo.out_trade_nos(
        session, [r.order_id for r in (*todays, *clawbacks) if r.order_id is not None]
    )
    charged = sum(r.charged_fen for r in bills)
    before = await repo.sales_before(session, merchant_id, day)
    fees = fees_for(merchant, charged, before)
    clawback_fen = sum(r.charged_fen for r in clawbacks)
    statement = Statement(
        id=uuid.uuid4(),
        merchant_id=merchant_id,
        day=day,
        status=StatementStatus.open,
        bills_count=len(bills),
        gross_fen=sum(r.bill_fen for r in bills),
        discount_fen=sum(r.discount_fen for r in bills),
        charged_fen=charged,
        sales_before_fen=before,
        fee_fen=fees.fee_fen,
        commission_fen=fees.commission_fen,
        undone_count=len(undone),
        undone_fen=sum(r.charged_fen for r in undone),
        clawback_count=len(clawbacks),
        clawback_fen=clawback_fen,
        net_payable_fen=charged - fees.fee_fen - fees.commission_fen - clawback_fen,
    )
    session.add(statement)
    await session.flush()
    lines = [
        _line(r, kind, statement.id, refs.get(r.order_id, "") if r.order_id else "")
        for kind, group in (
            (StatementLineKind.bill, bills),
            (StatementLineKind.undone, undone),
            (StatementLineKind.clawback, clawbacks),
            (StatementLineKind.code, at_till),
        )
        for r in group
    ]
    if lines:
        await session.execute(insert(StatementLine), lines)
    await repo.mark_settled(session, [r.id for r in todays], statement.id)
    for r in todays:  # keep the loaded rows in step without a second UPDATE
        set_committed_value(r, "statement_id", statement.id)
    charges = fees.fee_fen + fees.commission_fen
    if charges:
        fee_lines = [Line(Account.merchant_payable, charges, str(merchant_id))]
        if fees.fee_fen:
            fee_lines.append(Line(Account.payment_fee_income, -fees.fee_fen))
        if fees.commission_fen:
            fee_lines.append(Line(Account.commission_income, -fees.commission_fen))
        await post(session, Entry(FEE_KIND, str(statement.id), fee_lines))
    await session.flush()
    return statement, True


async def settle_day(session: AsyncSession, day: date) -> list[Statement]:
    """Every merchant with activity on `day` gets its statement (idempotent); returns all of
    the day's statements."""
    start, end = day_bounds(day)
    if utc_now() < end:
        raise DayNotOver(
            f"{day.isoformat()} is not over yet in the programme's time zone; settle it tomorrow"
        )
    clawing = await repo.merchants_with_clawbacks(session, end)
    for merchant_id in await repo.merchants_with_activity(session, start, end):
        await settle_merchant_day(
            session, merchant_id, day, clawbacks_possible=merchant_id in clawing
        )
    return list(await repo.list_statements(session, day=day, limit=100_000))


async def settle_due(session: AsyncSession) -> int:
    """Worker step: settle each recent day whose undo window has closed. Returns how many
    statements it created (0 when there is nothing to do)."""
    now = utc_now()
    today = business_day(now)
    created = 0
    for back in range(CATCH_UP_DAYS, 0, -1):
        day = today - timedelta(days=back)
        if now < day_bounds(day)[1] + UNDO_WINDOW:
            continue
        start, end = day_bounds(day)
        clawing = await repo.merchants_with_clawbacks(session, end)
        for merchant_id in await repo.merchants_with_activity(session, start, end):
            _, new = await settle_merchant_day(
                session, merchant_id, day, clawbacks_possible=merchant_id in clawing
            )
            created += int(new)
    return created


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput("a day is written YYYY-MM-DD") from exc


async def visible_statement(
    session: AsyncSession, user: User, statement_id: uuid.UUID
) -> Statement:
    """A statement of a merchant whose stores the user may act on (an operator: any); 404
    otherwise, so ids of others leak nothing."""
    statement = await session.get(Statement, statement_id)
    merchant_ids = await access.merchant_ids_for(session, user)
    if statement is None or (
        merchant_ids is not None and statement.merchant_id not in merchant_ids
    ):
        raise StatementNotFound("no such statement")
    return statement


@dataclass(frozen=True)
class StatementList:
    statements: Sequence[Statement]
    names: dict[uuid.UUID, str]  # merchant id -> name


async def statement_list(
    session: AsyncSession, user: User, day: date | None = None, limit: int = 100
) -> StatementList:
    """The statements `user` may read (an operator: every merchant's), newest day first, and
    their merchants' names."""
    merchant_ids = await access.merchant_ids_for(session, user)
    statements = await repo.list_statements(session, merchant_ids, day=day, limit=limit)
    names = await repo.merchant_names(session, (s.merchant_id for s in statements))
    return StatementList(statements, names)


async def pay_out(session: AsyncSession, operator: User, statement_id: uuid.UUID) -> Statement:
    """Operator: the statement's net has been transferred to the merchant.

    Earlier open statements of the merchant with a negative net (clawbacks exceeding that
    day's sales) are recovered here: the transfer is this net minus what they owe, and they
    are closed with it. A statement that cannot cover them is refused."""
    statement = await session.get(
        Statement, statement_id, with_for_update=True, populate_existing=True
    )
    if statement is None:
        raise StatementNotFound("no such statement")
    if statement.status == StatementStatus.paid_out:
        raise AlreadyPaidOut("this statement has already been paid out")
    if statement.net_payable_fen <= 0:
        raise NothingToPayOut("this statement has nothing to pay out")
    owing = await repo.lock_owing_statements(session, statement.merchant_id, statement.day)
    amount = statement.net_payable_fen + sum(s.net_payable_fen for s in owing)
    if amount <= 0:
        raise NothingToPayOut(
            "earlier clawbacks still exceed this statement; pay out a later statement"
        )
    memo = f"recovers {-sum(s.net_payable_fen for s in owing)} fen of clawbacks" if owing else None
    await post(
        session,
        Entry(
            PAYOUT_KIND,
            str(statement.id),
            [
                Line(Account.merchant_payable, amount, str(statement.merchant_id)),
                Line(Account.channel_clearing, -amount),
            ],
            memo=memo,
        ),
    )
    now = utc_now()
    for closed in (*owing, statement):
        closed.status = StatementStatus.paid_out
        closed.paid_out_at = now
        closed.paid_out_by = operator.id
    await session.flush()
    return statement


@dataclass(frozen=True)
class FeePlan:
    commission_bp: int
    payment_fee_bp: int
    fee_threshold_fen: int
    fee_above_bp: int


async def update_fee_plan(session: AsyncSession, merchant_id: uuid.UUID, plan: FeePlan) -> Merchant:
    """Operator: a merchant's fee plan; applies to statements created from now on."""
    for name in ("commission_bp", "payment_fee_bp", "fee_above_bp"):
        if not 0 <= getattr(plan, name) <= BASIS_POINTS:
            raise InvalidInput(f"{name} is between 0 and {BASIS_POINTS} basis points")
    if plan.fee_threshold_fen < 0:
        raise InvalidInput("the fee threshold must not be negative")
    merchant = await session.get(Merchant, merchant_id, with_for_update=True)
    if merchant is None:
        raise MerchantNotFound("no such merchant")
    merchant.commission_bp = plan.commission_bp
    merchant.payment_fee_bp = plan.payment_fee_bp
    merchant.fee_threshold_fen = plan.fee_threshold_fen
    merchant.fee_above_bp = plan.fee_above_bp
    await session.flush()
    return merchant


@dataclass(frozen=True)
class LedgerFigures:
    charged_fen: int
    discount_fen: int
    fees_fen: int  # fee + commission
    clawback_fen: int
    undone_net_fen: int  # payments and refunds of undone items: 0 when all is well
    net_payable_fen: int
    till_discount_fen: int  # savings memo of the till redemptions listed (information only)


async def ledger_figures(session: AsyncSession, statement: Statement) -> LedgerFigures:
    """Recompute a statement's figures from journal lines alone."""
    owner = str(statement.merchant_id)
    by_kind: dict[StatementLineKind, list[StatementLine]] = {k: [] for k in StatementLineKind}
    for line, _ in await repo.lines_of(session, statement.id):
        by_kind[line.kind].append(line)
    bill_refs = [ln.reference for ln in by_kind[StatementLineKind.bill]]
    charged = -await repo.ledger_sum(session, Account.merchant_payable, owner, "payment", bill_refs)
    discount = await repo.ledger_sum(
        session,
        Account.merchant_discounts_funded,
        owner,
        SAVINGS_KIND,
        [str(ln.redemption_id) for ln in by_kind[StatementLineKind.bill]],
    )
    fees = await repo.ledger_sum(
        session, Account.merchant_payable, owner, FEE_KIND, [str(statement.id)]
    )
    claw_refunds = await repo.refund_refs(
        session, [ln.reference for ln in by_kind[StatementLineKind.clawback]]
    )
    clawback = await repo.ledger_sum(
        session, Account.merchant_payable, owner, "refund_requested", claw_refunds
    )
    undone_refs = [ln.reference for ln in by_kind[StatementLineKind.undone]]
    undone_net = await repo.ledger_sum(
        session, Account.merchant_payable, owner, "payment", undone_refs
    ) + await repo.ledger_sum(
        session,
        Account.merchant_payable,
        owner,
        "refund_requested",
        await repo.refund_refs(session, undone_refs),
    )
    till_discount = await repo.ledger_sum(
        session,
        Account.merchant_discounts_funded,
        owner,
        SAVINGS_KIND,
        [str(ln.redemption_id) for ln in by_kind[StatementLineKind.code]],
    )
    return LedgerFigures(
        till_discount_fen=till_discount,
        charged_fen=charged,
        discount_fen=discount,
        fees_fen=fees,
        clawback_fen=clawback,
        undone_net_fen=undone_net,
        net_payable_fen=charged - fees - clawback,
    )


CSV_HEADER = ["kind", "time", "store", "reference", "bill", "discount", "charged"]


def _yuan(fen: int) -> str:
    return format_fen(fen, symbol="").replace(",", "")


async def statement_csv(session: AsyncSession, statement: Statement) -> str:
    """Lines, then the totals, amounts in yuan with two decimals (times in the programme's zone,
    with their offset)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for line, store_name in await repo.lines_of(session, statement.id):
        writer.writerow(
            [
                line.kind.value,
                local_iso(line.at),
                store_name,
                line.reference,
                _yuan(line.bill_fen),
                _yuan(line.discount_fen),
                _yuan(line.charged_fen),
            ]
        )
    writer.writerow([])
    for label, fen in (
        ("gross", statement.gross_fen),
        ("member_discounts", statement.discount_fen),
        ("collected", statement.charged_fen),
        ("payment_fee", statement.fee_fen),
        ("commission", statement.commission_fen),
        ("undone", statement.undone_fen),
        ("clawbacks", statement.clawback_fen),
        ("net_payable", statement.net_payable_fen),
    ):
        writer.writerow(["total", label, "", "", "", "", _yuan(fen)])
    return out.getvalue()


class StatementFile(NamedTuple):
    name: str
    body: str


async def statement_file(
    session: AsyncSession, user: User, statement_id: uuid.UUID
) -> StatementFile:
    """A statement `user` may read as a CSV file."""
    statement = await visible_statement(session, user, statement_id)
    name = f"statement-{statement.day.isoformat()}-{str(statement.id)[:8]}.csv"
    return StatementFile(name, await statement_csv(session, statement))


@dataclass(frozen=True)
class StatementPage:
    """A statement with its lines, and whether the ledger backs every figure on it."""

    statement: Statement
    merchant: Merchant
    lines: list[tuple[StatementLine, str]]  # line, store name
    backed: bool
    till_count: int
    till_discount_fen: int


async def statement_page(
    session: AsyncSession, user: User, statement_id: uuid.UUID
) -> StatementPage:
    statement = await visible_statement(session, user, statement_id)
    lines = await repo.lines_of(session, statement.id)
    figures = await ledger_figures(session, statement)
    till = [line for line, _ in lines if line.kind == StatementLineKind.code]
    till_discount_fen = sum(line.discount_fen for line in till)
    backed = (
        figures.till_discount_fen == till_discount_fen
        and figures.charged_fen == statement.charged_fen
        and figures.discount_fen == statement.discount_fen
        and figures.fees_fen == statement.fee_fen + statement.commission_fen
        and figures.clawback_fen == statement.clawback_fen
        and figures.undone_net_fen == 0
    )
    merchant = await session.get_one(Merchant, statement.merchant_id)
    return StatementPage(statement, merchant, lines, backed, len(till), till_discount_fen)
