"""Collecting money: start a payment, and confirm it only on verified word from the channel.

Each order kind registers an `OrderHandler` saying which account a payment credits and what
happens when the order is paid or refunded; payments knows nothing about memberships.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import AppError, ChannelUnavailable, NotFound
from redcard.kit.ids import reference
from redcard.kit.sql import insert_ignore, rowcount
from redcard.kit.time import utc_now
from redcard.ledger import service as ledger
from redcard.ledger.accounts import Account
from redcard.models import ChannelEvent, Order, OrderStatus, Payment, PaymentStatus
from redcard.payments.channels import Channels
from redcard.payments.port import (
    ChannelError,
    ChannelTimeout,
    InvalidNotification,
    Notification,
    NotificationKind,
    PaymentRequest,
    StaleNotification,
    TradeStatus,
)

log = logging.getLogger(__name__)


class BadSignature(AppError):
    status_code = 401


class StaleTimestamp(AppError):
    status_code = 401


class AmountMismatch(AppError):
    status_code = 409


@dataclass(frozen=True)
class OrderHandler:
    credit_account: str
    on_paid: Callable[[AsyncSession, Order], Awaitable[None]]
    on_refunded: Callable[[AsyncSession, Order], Awaitable[None]]
    # the owner of the credited account (e.g. the merchant a 买单 is collected for); "" if none
    credit_owner: Callable[[AsyncSession, Order], Awaitable[str]] | None = None
    # optional bulk form of on_refunded, given the orders' ids (the refund worker settles
    # thousands at a time)
    on_refunded_many: Callable[[AsyncSession, Sequence[uuid.UUID]], Awaitable[None]] | None = None


_handlers: dict[str, OrderHandler] = {}


def register_order_kind(kind: str, handler: OrderHandler) -> None:
    _handlers[kind] = handler


def handler_for(order: Order) -> OrderHandler:
    return _handlers[order.kind]


async def credit_line(session: AsyncSession, order: Order, amount_fen: int) -> ledger.Line:
    """The order kind's side of a payment (negative) or refund (positive) posting."""
    handler = handler_for(order)
    owner = await handler.credit_owner(session, order) if handler.credit_owner else ""
    return ledger.Line(handler.credit_account, amount_fen, owner)


def notify_url(base_url: str, channel: str) -> str:
    return f"{base_url}/api/v1/payments/notify/{channel}"


async def start_payment(
    session: AsyncSession,
    channels: Channels,
    order: Order,
    *,
    subject: str,
    base_url: str,
    return_url: str,
) -> Payment:
    """Record the attempt first (so its reference exists before the channel hears of it),
    then ask the channel for a pay URL."""
    channel = channels.default
    payment = Payment(
        order_id=order.id,
        channel=channel.name,
        out_trade_no=reference("P"),
        amount_fen=order.amount_fen,
    )
    session.add(payment)
    await session.flush()
    try:
        created = await channel.create_payment(
            PaymentRequest(
                out_trade_no=payment.out_trade_no,
                amount_fen=payment.amount_fen,
                subject=subject,
                notify_url=notify_url(base_url, channel.name),
                return_url=return_url,
            )
        )
    except ChannelError as exc:
        raise ChannelUnavailable("the payment channel is not answering; try again") from exc
    payment.pay_url = created.pay_url
    await session.flush()
    return payment


async def _locked_payment(session: AsyncSession, out_trade_no: str) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.out_trade_no == out_trade_no).with_for_update()
    )


async def confirm_payment(
    session: AsyncSession, out_trade_no: str, amount_fen: int, channel_ref: str | None
) -> Payment:
    """Mark a payment succeeded, post it, and let its order kind react. Safe to call twice."""
    payment = await _locked_payment(session, out_trade_no)
    if payment is None:
        raise NotFound(f"no payment {out_trade_no}")
    if amount_fen != payment.amount_fen:
        raise AmountMismatch(
            f"channel reports {amount_fen} fen for {out_trade_no}, we expect {payment.amount_fen}"
        )
    if payment.status == PaymentStatus.succeeded:
        return payment
    order = await session.get_one(Order, payment.order_id, with_for_update=True)
    payment.status = PaymentStatus.succeeded
    payment.channel_trade_no = channel_ref
    payment.succeeded_at = utc_now()
    order.status = OrderStatus.paid
    order.paid_at = payment.succeeded_at
    handler = handler_for(order)
    await ledger.post(
        session,
        ledger.Entry(
            kind="payment",
            ref=payment.out_trade_no,
            lines=[
                ledger.Line(Account.channel_clearing, payment.amount_fen),
                await credit_line(session, order, -payment.amount_fen),
            ],
        ),
    )
    await handler.on_paid(session, order)
    await session.flush()
    return payment


async def sync_payment(session: AsyncSession, channels: Channels, payment: Payment) -> Payment:
    """Ask the channel (status query) and act on its answer."""
    if payment.status != PaymentStatus.pending:
        return payment
    try:
        result = await channels.get(payment.channel).query_payment(payment.out_trade_no)
    except ChannelTimeout:
        return payment
    if result.status == TradeStatus.succeeded:
        return await confirm_payment(
            session, payment.out_trade_no, result.amount_fen, result.channel_ref
        )
    return payment


async def record_event(
    session: AsyncSession, channel: str, note: Notification, raw_body: bytes
) -> bool:
    """Insert the event by its id; True only the first time it is seen."""
    result = await session.execute(
        insert_ignore(session, ChannelEvent, ["channel", "event_id"]).values(
            id=uuid.uuid4(),
            channel=channel,
            event_id=note.event_id,
            kind=note.kind.value,
            reference=note.reference,
            body=raw_body.decode("utf-8", "replace"),
            received_at=utc_now(),
        )
    )
    return rowcount(result) > 0


async def handle_notification(
    session: AsyncSession,
    channels: Channels,
    channel_name: str,
    headers: Mapping[str, str],
    raw_body: bytes,
) -> str:
    """Verify on the raw body, de-duplicate by event id, re-check amounts, then act.
    A rejection raises, so the request's transaction rolls back and nothing is kept."""
    try:
        channel = channels.get(channel_name)
    except KeyError as exc:
        raise NotFound("unknown channel") from exc
    try:
        note = channel.verify_notification(headers, raw_body)
    except StaleNotification as exc:
        raise StaleTimestamp(str(exc)) from exc
    except InvalidNotification as exc:
        raise BadSignature(str(exc)) from exc
    if not await record_event(session, channel_name, note, raw_body):
        return "duplicate"
    if note.kind == NotificationKind.payment_succeeded:
        await confirm_payment(session, note.reference, note.amount_fen, note.channel_ref)
    else:
        from redcard.payments import refunds  # refunds depends on this module

        await refunds.apply_channel_verdict(
            session, note.reference, note.amount_fen, note.kind, note.channel_ref
        )
    return "processed"


async def get_order_payment(session: AsyncSession, order_id: uuid.UUID) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.order_id == order_id).order_by(Payment.created_at.desc())
    )
