"""The one refund path. Self-service refunds, event cancellations and the program sunset all
call `request_refund`; the worker drives every refund to a verdict with `process_due`.

Exactly once: a refund's `out_refund_no` is chosen when the row is written and reused on every
retry, and the channel refunds a number at most once. A refund succeeds only on a verified
notification or a status query, never because the channel accepted it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, NotFound
from redcard.kit.ids import reference
from redcard.kit.sql import for_update_kwargs
from redcard.kit.time import utc_now
from redcard.ledger import service as ledger
from redcard.ledger.accounts import Account
from redcard.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from redcard.payments.channels import Channels
from redcard.payments.port import (
    ChannelRejected,
    ChannelTimeout,
    NotificationKind,
    PaymentChannel,
    RefundAccepted,
    RefundRequest,
    TradeStatus,
)
from redcard.payments.service import AmountMismatch, credit_line, handler_for, notify_url

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
POLL_AFTER = timedelta(seconds=30)


class RefundExceedsPayment(Conflict):
    pass


class PaymentNotRefundable(Conflict):
    pass


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


async def refundable_fen(session: AsyncSession, payment: Payment) -> int:
    reserved = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            Refund.payment_id == payment.id, Refund.status != RefundStatus.failed
        )
    )
    return payment.amount_fen - int(reserved or 0)


async def request_refund(
    session: AsyncSession,
    payment_id: uuid.UUID,
    amount_fen: int,
    reason: str,
    campaign_id: uuid.UUID | None = None,
) -> Refund:
    """Reserve a refund of a succeeded payment, under the payment's row lock."""
    payment = await session.get(Payment, payment_id, with_for_update=True)
    if payment is None:
        raise NotFound("no such payment")
    if payment.status != PaymentStatus.succeeded:
        raise PaymentNotRefundable("only a completed payment can be refunded")
    if amount_fen <= 0:
        raise RefundExceedsPayment("a refund must be at least 1 fen")
    available = await refundable_fen(session, payment)
    if amount_fen > available:
        raise RefundExceedsPayment(f"only {available} fen of this payment can still be refunded")
    order = await session.get_one(Order, payment.order_id)
    refund = Refund(
        payment_id=payment.id,
        out_refund_no=reference("R"),
        amount_fen=amount_fen,
        reason=reason,
        campaign_id=campaign_id,
        next_attempt_at=utc_now(),
    )
    session.add(refund)
    await ledger.post(
        session,
        ledger.Entry(
            kind="refund_requested",
            ref=refund.out_refund_no,
            lines=[
                await credit_line(session, order, amount_fen),
                ledger.Line(Account.refunds_payable, -amount_fen),
            ],
        ),
    )
    await session.flush()
    return refund


async def apply_channel_verdict(
    session: AsyncSession,
    out_refund_no: str,
    amount_fen: int,
    kind: NotificationKind,
    channel_ref: str | None,
) -> Refund:
    """Settle a refund on the channel's word (notification or query). Idempotent."""
    refund = await session.scalar(
        select(Refund).where(Refund.out_refund_no == out_refund_no).with_for_update()
    )
    if refund is None:
        raise NotFound(f"no refund {out_refund_no}")
    if amount_fen != refund.amount_fen:
        raise AmountMismatch(
            f"channel reports {amount_fen} fen for {out_refund_no}, we expect {refund.amount_fen}"
        )
    if refund.status in (RefundStatus.succeeded, RefundStatus.offline):
        return refund
    if kind == NotificationKind.refund_failed:
        refund.status = RefundStatus.failed
        refund.last_error = "the channel reports the refund failed"
        await session.flush()
        return refund
    await _complete(session, refund, channel_ref)
    return refund


async def _complete(
    session: AsyncSession,
    refund: Refund,
    channel_ref: str | None,
    offline_reference: str | None = None,
) -> None:
    payment = await session.get_one(Payment, refund.payment_id, with_for_update=True)
    refund.status = RefundStatus.offline if offline_reference else RefundStatus.succeeded
    refund.offline_reference = offline_reference
    refund.channel_refund_no = channel_ref or refund.channel_refund_no
    refund.succeeded_at = utc_now()
    payment.refunded_fen += refund.amount_fen
    await ledger.post(
        session,
        ledger.Entry(
            kind="refund",
            ref=refund.out_refund_no,
            lines=[
                ledger.Line(Account.refunds_payable, refund.amount_fen),
                ledger.Line(Account.channel_clearing, -refund.amount_fen),
            ],
            memo=f"offline: {offline_reference}" if offline_reference else None,
        ),
    )
    if payment.refunded_fen >= payment.amount_fen:
        order = await session.get_one(Order, payment.order_id, with_for_update=True)
        if order.status != OrderStatus.refunded:
            order.status = OrderStatus.refunded
            await handler_for(order).on_refunded(session, order)
    await session.flush()


async def retry_failed(session: AsyncSession, refund_id: uuid.UUID) -> Refund:
    """Operator action on the exceptions queue: try again with the same refund number."""
    refund = await session.get(Refund, refund_id, with_for_update=True)
    if refund is None:
        raise NotFound("no such refund")
    if refund.status != RefundStatus.failed:
        raise Conflict("only a failed refund can be retried")
    refund.status = RefundStatus.pending
    refund.attempts = 0
    refund.next_attempt_at = utc_now()
    await session.flush()
    return refund


async def mark_offline(session: AsyncSession, refund_id: uuid.UUID, reference_text: str) -> Refund:
    """Operator action: the money went back outside the channel (bank transfer, cash)."""
    refund = await session.get(Refund, refund_id, with_for_update=True)
    if refund is None:
        raise NotFound("no such refund")
    if refund.status != RefundStatus.failed:
        raise Conflict("only a failed refund can be settled offline")
    if not reference_text.strip():
        raise Conflict("an offline settlement needs a reference")
    await _complete(session, refund, None, offline_reference=reference_text.strip())
    return refund


async def claim_due(session: AsyncSession, limit: int) -> list[Refund]:
    now = utc_now()
    stmt = (
        select(Refund)
        .where(
            Refund.status.in_([RefundStatus.pending, RefundStatus.processing]),
            or_(Refund.next_attempt_at.is_(None), Refund.next_attempt_at <= now),
        )
        .order_by(Refund.next_attempt_at, Refund.id)
        .limit(limit)
        .with_for_update(**for_update_kwargs(session, skip_locked=True))
    )
    return list((await session.scalars(stmt)).all())


async def process_due(
    session: AsyncSession, channels: Channels, base_url: str, limit: int = 500
) -> int:
    """Advance up to `limit` due refunds: submit pending ones, query processing ones.
    Killing the process at any point loses nothing: uncommitted work is redone with the
    same refund numbers, which the channel treats as the same refunds."""
    refunds = await claim_due(session, limit)
    if not refunds:
        return 0
    payments = {
        p.id: p
        for p in await session.scalars(
            select(Payment).where(Payment.id.in_({r.payment_id for r in refunds}))
        )
    }
    now = utc_now()
    by_channel: dict[str, list[Refund]] = {}
    for refund in refunds:
        by_channel.setdefault(payments[refund.payment_id].channel, []).append(refund)
    for channel_name, group in by_channel.items():
        channel = channels.get(channel_name)
        to_submit = [r for r in group if r.status == RefundStatus.pending]
        to_query = [r for r in group if r.status == RefundStatus.processing]
        if to_submit:
            requests = [
                RefundRequest(
                    out_trade_no=payments[r.payment_id].out_trade_no,
                    out_refund_no=r.out_refund_no,
                    amount_fen=r.amount_fen,
                    reason=r.reason,
                    notify_url=notify_url(base_url, channel_name),
                )
                for r in to_submit
            ]
            bulk = getattr(channel, "refund_many", None)
            if bulk is not None:
                results = await bulk(requests)
            else:
                results = []
                for request in requests:
                    try:
                        results.append(await channel.refund(request))
                    except (ChannelTimeout, ChannelRejected) as exc:
                        results.append(exc)
            for refund, result in zip(to_submit, results, strict=True):
                refund.attempts += 1
                if isinstance(result, RefundAccepted):
                    if refund.status == RefundStatus.pending:
                        refund.status = RefundStatus.processing
                    refund.channel_refund_no = result.channel_ref
                    refund.next_attempt_at = now + POLL_AFTER
                elif isinstance(result, ChannelRejected):
                    refund.status = RefundStatus.failed
                    refund.last_error = str(result)[:500]
                else:
                    _retry_later(refund, str(result))
        for refund in to_query:
            await _query(session, channel, refund)
    await session.flush()
    return len(refunds)


def _retry_later(refund: Refund, error: str) -> None:
    refund.last_error = error[:500]
    if refund.attempts >= MAX_ATTEMPTS:
        refund.status = RefundStatus.failed
    else:
        refund.next_attempt_at = utc_now() + backoff(refund.attempts)


async def _query(session: AsyncSession, channel: PaymentChannel, refund: Refund) -> None:
    refund.attempts += 1
    try:
        result = await channel.query_refund(refund.out_refund_no)
    except ChannelTimeout as exc:
        _retry_later(refund, str(exc))
        return
    if result.status == TradeStatus.succeeded:
        await apply_channel_verdict(
            session,
            refund.out_refund_no,
            result.amount_fen,
            NotificationKind.refund_succeeded,
            result.channel_ref,
        )
    elif result.status == TradeStatus.failed:
        await apply_channel_verdict(
            session,
            refund.out_refund_no,
            result.amount_fen,
            NotificationKind.refund_failed,
            result.channel_ref,
        )
    elif result.status == TradeStatus.unknown:
        # the channel never took it (e.g. it timed out before accepting): submit again
        refund.status = RefundStatus.pending
        refund.next_attempt_at = utc_now()
    else:
        _retry_later(refund, "still processing at the channel")
