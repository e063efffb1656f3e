"""Collecting money: start a payment, and confirm it only on verified word from the channel
(its notification, through `callbacks`, or a status query).

What a paid order credits and what follows is its kind's `OrderHandler` (`orders`); payments
knows nothing about memberships.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import AppError, ChannelUnavailable, NotFound
from redcard.kit.ids import reference
from redcard.kit.time import utc_now
from redcard.ledger import service as ledger
from redcard.ledger.accounts import Account
from redcard.models import Order, OrderStatus, Payment, PaymentStatus
from redcard.payments.channels import Channels, notify_url
from redcard.payments.orders import credit_line, handler_for
from redcard.payments.port import ChannelError, ChannelTimeout, PaymentRequest, TradeStatus

log = logging.getLogger(__name__)


class AmountMismatch(AppError):
    """The channel's amount for one of our references is not ours."""

    status_code = 409


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


async def get_order_payment(session: AsyncSession, order_id: uuid.UUID) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.order_id == order_id).order_by(Payment.created_at.desc())
    )
