"""持卡买单: the member scans the store's printed QR, enters the bill, and pays the discounted
amount through the platform. The platform collects the money and owes it to the merchant.

Money flow (all through the ledger):
- payment confirmed (payments.service): Dr channel_clearing / Cr merchant_payable (owner = the
  merchant) for the amount charged; then `_on_paid` commits the redemption and posts the
  savings memo (Dr merchant_discounts_funded (merchant) / Cr member_savings (member)), the same
  entry kind ("redemption") the till's code redemptions use, so one savings counter covers both.
- undo: a refund through THE ONE REFUND PATH (`payments.refunds.request_refund`), which posts
  Dr merchant_payable (merchant) / Cr refunds_payable at once; the redemption is marked undone
  and the savings memo reversed in the same transaction, under the redemption's row lock, so an
  undo racing settlement lands either before it (an "undone item") or after it (refused for
  staff; an operator refund becomes a clawback on the next statement).

Staff may undo within `UNDO_WINDOW` of payment and before settlement. An operator may refund a
bill at any time (a dispute); if it was already settled the merchant pays it back as a clawback
on its next statement (settlement.service).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, Forbidden, InvalidInput, NotFound
from redcard.kit.money import MoneyError, parse_yuan
from redcard.kit.time import utc_now
from redcard.ledger.accounts import Account
from redcard.ledger.savings import savings_entry, savings_fen
from redcard.ledger.service import post
from redcard.membership import repository as membership_repo
from redcard.merchants import access
from redcard.models import (
    UNDO_WINDOW,
    Membership,
    Merchant,
    MerchantStatus,
    Order,
    OrderKind,
    Payment,
    PaymentStatus,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    RefundReason,
    Role,
    Store,
    StoreStatus,
    User,
)
from redcard.ops import metrics
from redcard.payments import service as payments
from redcard.payments.channels import Channels
from redcard.payments.orders import OrderHandler
from redcard.payments.refunds import request_refund
from redcard.storepay import repository as repo


class StoreNotFound(NotFound):
    pass


class StoreNotAccepting(Conflict):
    pass


class NoUsableCard(Forbidden):
    pass


class BillNotFound(NotFound):
    pass


class BillNotUndoable(Conflict):
    pass


class UndoWindowClosed(Conflict):
    pass


class AlreadySettled(Conflict):
    pass


@dataclass(frozen=True)
class Preview:
    store: Store
    bill_fen: int
    excluded_fen: int
    discount_fen: int
    charged_fen: int


@dataclass(frozen=True)
class Bill:
    redemption: Redemption
    order: Order
    payment: Payment


def parse_bill(value: object) -> int:
    """The bill as the member typed it, in yuan ("128.5", "１２８"), to fen. Never a float."""
    if not isinstance(value, str):
        raise InvalidInput('send the bill in yuan as text, e.g. "128.50"')
    try:
        bill_fen = parse_yuan(value)
    except MoneyError as exc:
        raise InvalidInput(str(exc)) from exc
    if bill_fen <= 0:
        raise InvalidInput("the bill must be more than zero")
    return bill_fen


def parse_excluded(value: object) -> int:
    """The part of the bill in the store's excluded categories, as typed (blank = none)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if not isinstance(value, str):
        raise InvalidInput('send the excluded part in yuan as text, e.g. "30.00"')
    try:
        return parse_yuan(value)
    except MoneyError as exc:
        raise InvalidInput(str(exc)) from exc


async def open_store(session: AsyncSession, pay_code: str) -> Store:
    """The store behind a printed pay code, if it takes card payments right now."""
    store = await repo.get_store_by_pay_code(session, pay_code)
    if store is None:
        raise StoreNotFound("this pay code does not belong to any store")
    merchant = await session.get_one(Merchant, store.merchant_id)
    if store.status != StoreStatus.live or merchant.status != MerchantStatus.approved:
        raise StoreNotAccepting("this store is not taking card payments right now")
    return store


async def usable_card(session: AsyncSession, member: User) -> Membership:
    """An active (paid or trial) card within its dates; expired, suspended and refunded cards
    get no discount."""
    await membership_repo.expire_lapsed(session, member.id)
    card = await membership_repo.get_active_by_member(session, member.id)
    if card is None or not card.is_usable(utc_now()):
        raise NoUsableCard("you need an active card to pay with the member discount")
    return card


def price(store: Store, bill_fen: int, excluded_fen: int = 0) -> Preview:
    if excluded_fen and not store.excluded_categories:
        raise InvalidInput("this store excludes no categories from the card discount")
    if excluded_fen > bill_fen:
        raise InvalidInput("the excluded part cannot be more than the bill")
    discount = store.discount_for(bill_fen, excluded_fen)
    return Preview(store, bill_fen, excluded_fen, discount, bill_fen - discount)


async def preview(
    session: AsyncSession, member: User, pay_code: str, bill_fen: int, excluded_fen: int = 0
) -> Preview:
    """What the member will pay: computed here from the store's terms, never by the client."""
    store = await open_store(session, pay_code)
    await usable_card(session, member)
    return price(store, bill_fen, excluded_fen)


async def create_bill(
    session: AsyncSession,
    channels: Channels,
    member: User,
    pay_code: str,
    bill_fen: int,
    excluded_fen: int = 0,
    *,
    base_url: str,
) -> Bill:
    """Record the order and a prepared redemption, then start the payment. Nothing is
    committed until the channel confirms (verified callback or status query)."""
    store = await open_store(session, pay_code)
    card = await usable_card(session, member)
    quote = price(store, bill_fen, excluded_fen)
    now = utc_now()
    order = Order(member_id=member.id, kind=OrderKind.store_bill, amount_fen=quote.charged_fen)
    session.add(order)
    await session.flush()
    redemption = Redemption(
        kind=RedemptionKind.pay,
        status=RedemptionStatus.prepared,
        store_id=store.id,
        merchant_id=store.merchant_id,
        member_id=member.id,
        membership_id=card.id,
        order_id=order.id,
        bill_fen=quote.bill_fen,
        excluded_fen=quote.excluded_fen,
        discount_fen=quote.discount_fen,
        charged_fen=quote.charged_fen,
        prepared_at=now,
    )
    session.add(redemption)
    await session.flush()
    payment = await payments.start_payment(
        session,
        channels,
        order,
        subject=f"{store.name} 买单",
        base_url=base_url,
        return_url=f"{base_url}/pay/bills/{order.id}",
    )
    return Bill(redemption, order, payment)


async def _locked_by_order(session: AsyncSession, order_id: uuid.UUID) -> Redemption | None:
    return await session.scalar(
        select(Redemption)
        .where(Redemption.order_id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _merchant_of(session: AsyncSession, order: Order) -> str:
    merchant_id = await session.scalar(
        select(Redemption.merchant_id).where(Redemption.order_id == order.id)
    )
    if merchant_id is None:
        raise BillNotFound(f"order {order.id} has no 买单 redemption")
    return str(merchant_id)


async def _on_paid(session: AsyncSession, order: Order) -> None:
    """The channel confirmed the payment: commit the redemption (once)."""
    redemption = await _locked_by_order(session, order.id)
    if redemption is None or redemption.status not in (
        RedemptionStatus.prepared,
        RedemptionStatus.expired,
    ):
        return
    redemption.status = RedemptionStatus.committed
    redemption.committed_at = utc_now()
    if redemption.discount_fen:
        await post(session, savings_entry(redemption))
    metrics.count_on_commit(session, metrics.REDEMPTIONS, "pay", "committed")
    await session.flush()


async def _mark_undone(session: AsyncSession, redemption: Redemption) -> None:
    redemption.status = RedemptionStatus.undone
    redemption.undone_at = utc_now()
    if redemption.discount_fen:
        await post(session, savings_entry(redemption, undo=True))
    metrics.count_on_commit(session, metrics.REDEMPTIONS, "pay", "undone")
    await session.flush()


async def _on_refunded(session: AsyncSession, order: Order) -> None:
    """The refund completed. An undo has already marked the redemption; a refund started
    elsewhere (e.g. an operator refunding the payment directly) is treated as an undo here."""
    redemption = await _locked_by_order(session, order.id)
    if redemption is not None and redemption.status == RedemptionStatus.committed:
        await _mark_undone(session, redemption)


# what payments does with 买单 orders; registered at start-up by redcard.order_kinds
ORDER_HANDLER = OrderHandler(
    credit_account=Account.merchant_payable,
    on_paid=_on_paid,
    on_refunded=_on_refunded,
    credit_owner=_merchant_of,
)


async def undo_bill(session: AsyncSession, actor: User, redemption_id: uuid.UUID) -> Redemption:
    """Refund a paid 买单 in full through the one refund path.

    Store staff: within UNDO_WINDOW and before settlement. Operator: any time; after settlement
    the merchant repays it as a clawback on its next statement. The redemption row lock makes
    parallel undos and an undo racing settlement come out one way only."""
    redemption = await session.scalar(
        select(Redemption)
        .where(Redemption.id == redemption_id, Redemption.kind == RedemptionKind.pay)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if redemption is None or not await access.may_act_at(session, actor, redemption.store_id):
        raise BillNotFound("no such bill at your stores")
    if redemption.status == RedemptionStatus.undone:
        raise BillNotUndoable("this bill has already been undone and refunded")
    if redemption.status != RedemptionStatus.committed or redemption.committed_at is None:
        raise BillNotUndoable("this bill has not been paid")
    if actor.role != Role.operator:
        if redemption.statement_id is not None:
            raise AlreadySettled(
                "this bill is already settled; ask the platform to refund it "
                "(it is then deducted from your next statement)"
            )
        if utc_now() - redemption.committed_at > UNDO_WINDOW:
            raise UndoWindowClosed("a bill can be undone within 1 hour of payment")
    assert redemption.order_id is not None
    payment = await session.scalar(
        select(Payment).where(
            Payment.order_id == redemption.order_id, Payment.status == PaymentStatus.succeeded
        )
    )
    if payment is None:
        raise BillNotUndoable("this bill has no completed payment")
    await request_refund(
        session, payment.id, redemption.charged_fen, reason=RefundReason.store_bill_undo
    )
    await _mark_undone(session, redemption)
    return redemption


async def member_bill(session: AsyncSession, member: User, order_id: uuid.UUID) -> Redemption:
    redemption = await session.scalar(
        select(Redemption).where(
            Redemption.order_id == order_id,
            Redemption.member_id == member.id,
            Redemption.kind == RedemptionKind.pay,
        )
    )
    if redemption is None:
        raise BillNotFound("no such bill")
    return redemption


async def refresh_member_bill(
    session: AsyncSession, channels: Channels, member: User, order_id: uuid.UUID
) -> Redemption:
    """The member is back from the cashier: ask the channel now rather than wait."""
    redemption = await member_bill(session, member, order_id)
    if redemption.status == RedemptionStatus.prepared:
        payment = await payments.get_order_payment(session, order_id)
        if payment is not None:
            await payments.sync_payment(session, channels, payment)
            await session.refresh(redemption)
    return redemption


@dataclass(frozen=True)
class BillOutcome:
    bill: Redemption
    store: Store
    saved_fen: int  # the member's savings so far, this bill included once it is paid


async def member_bill_outcome(
    session: AsyncSession, channels: Channels, member: User, order_id: uuid.UUID
) -> BillOutcome:
    """The member is back from the cashier: the bill as the channel reports it now."""
    bill = await refresh_member_bill(session, channels, member, order_id)
    store = await session.get_one(Store, bill.store_id)
    return BillOutcome(bill, store, await savings_fen(session, member.id))


# -- the store's side: its bills and its pay QR ----------------------------------------------
async def bills_for(session: AsyncSession, user: User) -> list[repo.BillRow]:
    """Paid (and undone) bills at the stores `user` may act on, newest first."""
    return await repo.list_bills(session, await access.store_ids_for(session, user))


@dataclass(frozen=True)
class StoreBills:
    stores: Sequence[Store]
    rows: list[repo.BillRow]
    undoable: set[uuid.UUID]  # the bills staff may still undo themselves


async def store_bills(session: AsyncSession, user: User) -> StoreBills:
    """A merchant user's stores and their bills, with the ones still in the undo window."""
    stores = await access.stores_for(session, user)
    rows = await repo.list_bills(session, [s.id for s in stores])
    now = utc_now()
    undoable = {
        row.redemption.id
        for row in rows
        if row.redemption.status == RedemptionStatus.committed
        and row.redemption.statement_id is None
        and row.redemption.committed_at is not None
        and now - row.redemption.committed_at <= UNDO_WINDOW
    }
    return StoreBills(stores, rows, undoable)


async def store_for(session: AsyncSession, user: User, store_id: uuid.UUID) -> Store:
    """One store `user` may act on (any other is not found)."""
    store = await session.get(Store, store_id)
    if store is None or not await access.may_act_at(session, user, store_id):
        raise NotFound("no such store")
    return store
