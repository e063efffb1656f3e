"""The one refund path. Self-service refunds, event cancellations and the program sunset all
call `request_refund`; the worker drives every refund to a verdict with `process_due`.

Exactly once: a refund's `out_refund_no` is chosen when the row is written and reused on every
retry, and the channel refunds a number at most once. A refund succeeds only on a verified
notification or a status query, never because the channel accepted it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from redcard.errors import Conflict, NotFound
from redcard.kit.ids import new_id, reference
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
    TradeQuery,
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


async def _bulk_set(
    session: AsyncSession, model: Any, changes: Sequence[tuple[Any, dict[str, Any]]]
) -> None:
    """Write many rows' changes as one executemany UPDATE by primary key, and record the new
    values on the loaded objects as committed state (so the ORM does not write them again
    row by row). The worker's batch paths use this; rare paths just set attributes."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for obj, values in changes:
        groups.setdefault(tuple(sorted(values)), []).append({"id": obj.id, **values})
        for key, value in values.items():
            set_committed_value(obj, key, value)
    for rows in groups.values():
        await session.execute(update(model), rows)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


async def refundable_fen(session: AsyncSession, payment: Payment) -> int:
    reserved = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            Refund.payment_id == payment.id, Refund.status != RefundStatus.failed
        )
    )
    return payment.amount_fen - int(reserved or 0)


@dataclass(frozen=True, slots=True)
class RefundAsk:
    """One refund to reserve. `submit=False` records it straight into the exceptions queue
    (status failed, `note` as the reason) for a refund the channel cannot take any more."""

    payment_id: uuid.UUID
    amount_fen: int
    reason: str
    campaign_id: uuid.UUID | None = None
    submit: bool = True
    note: str | None = None


async def request_refund(
    session: AsyncSession,
    payment_id: uuid.UUID,
    amount_fen: int,
    reason: str,
    campaign_id: uuid.UUID | None = None,
) -> Refund:
    """Reserve a refund of a succeeded payment, under the payment's row lock."""
    [refund_id] = await request_refunds(
        session, [RefundAsk(payment_id, amount_fen, reason, campaign_id)]
    )
    return await session.get_one(Refund, refund_id)


async def request_refunds(session: AsyncSession, asks: Sequence[RefundAsk]) -> list[uuid.UUID]:
    """Bulk form of `request_refund` with the same rules: the payments are locked in id order,
    each refund must fit in what is left of its payment, and each reservation posts
    (order's account → refunds_payable). All or nothing: one bad ask raises for the batch."""
    if not asks:
        return []
    ids = sorted({a.payment_id for a in asks})
    rows = {
        row.id: row
        for row in await session.execute(
            select(Payment.id, Payment.status, Payment.amount_fen, Payment.order_id)
            .where(Payment.id.in_(ids))
            .order_by(Payment.id)
            .with_for_update()
        )
    }
    reserved: dict[uuid.UUID, int] = {
        pid: int(total)
        for pid, total in await session.execute(
            select(Refund.payment_id, func.sum(Refund.amount_fen))
            .where(Refund.payment_id.in_(ids), Refund.status != RefundStatus.failed)
            .group_by(Refund.payment_id)
        )
    }
    orders = {
        o.id: o
        for o in await session.scalars(
            select(Order).where(Order.id.in_({r.order_id for r in rows.values()}))
        )
    }
    now = utc_now()
    refund_rows: list[dict[str, object]] = []
    entries: list[ledger.Entry] = []
    for ask in asks:
        payment = rows.get(ask.payment_id)
        if payment is None:
            raise NotFound("no such payment")
        if payment.status != PaymentStatus.succeeded:
            raise PaymentNotRefundable("only a completed payment can be refunded")
        if ask.amount_fen <= 0:
            raise RefundExceedsPayment("a refund must be at least 1 fen")
        available = payment.amount_fen - reserved.get(payment.id, 0)
        if ask.amount_fen > available:
            raise RefundExceedsPayment(
                f"only {available} fen of this payment can still be refunded"
            )
        reserved[payment.id] = reserved.get(payment.id, 0) + ask.amount_fen
        out_refund_no = reference("R")
        refund_rows.append(
            {
                "id": new_id(),
                "created_at": now,
                "payment_id": payment.id,
                "out_refund_no": out_refund_no,
                "amount_fen": ask.amount_fen,
                "reason": ask.reason,
                "campaign_id": ask.campaign_id,
                "status": RefundStatus.pending if ask.submit else RefundStatus.failed,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": None if ask.submit else (ask.note or "needs a manual refund")[:500],
            }
        )
        entries.append(
            ledger.Entry(
                kind="refund_requested",
                ref=out_refund_no,
                lines=[
                    await credit_line(session, orders[payment.order_id], ask.amount_fen),
                    ledger.Line(Account.refunds_payable, -ask.amount_fen),
                ],
            )
        )
    await session.execute(insert(Refund), refund_rows)
    await ledger.post_many(session, entries)
    return [row["id"] for row in refund_rows]  # type: ignore[misc]


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
    await _complete_many(session, [(refund, channel_ref)], offline_reference)


async def _complete_many(
    session: AsyncSession,
    verdicts: Sequence[tuple[Refund, str | None]],
    offline_reference: str | None = None,
    *,
    count_attempt: bool = False,
) -> None:
    """Refunds the channel (or an operator, offline) says are done: settle the reservation
    (refunds_payable → channel_clearing), add to the payment's refunded total, and let a fully
    refunded order's kind react. Payments and orders are locked in id order."""
    if not verdicts:
        return
    now = utc_now()
    payments = {
        p.id: p
        for p in await session.scalars(
            select(Payment)
            .where(Payment.id.in_({r.payment_id for r, _ in verdicts}))
            .order_by(Payment.id)
            .with_for_update()
        )
    }
    entries = []
    refund_changes: list[tuple[Refund, dict[str, Any]]] = []
    refunded: dict[uuid.UUID, int] = {p.id: p.refunded_fen for p in payments.values()}
    for refund, channel_ref in verdicts:
        refund_changes.append(
            (
                refund,
                {
                    "status": RefundStatus.offline if offline_reference else RefundStatus.succeeded,
                    "offline_reference": offline_reference,
                    "channel_refund_no": channel_ref or refund.channel_refund_no,
                    "succeeded_at": now,
                }
                | ({"attempts": refund.attempts + 1} if count_attempt else {}),
            )
        )
        refunded[refund.payment_id] += refund.amount_fen
        entries.append(
            ledger.Entry(
                kind="refund",
                ref=refund.out_refund_no,
                lines=[
                    ledger.Line(Account.refunds_payable, refund.amount_fen),
                    ledger.Line(Account.channel_clearing, -refund.amount_fen),
                ],
                memo=f"offline: {offline_reference}" if offline_reference else None,
            )
        )
    await _bulk_set(session, Refund, refund_changes)
    await _bulk_set(
        session,
        Payment,
        [
            (p, {"refunded_fen": refunded[p.id]})
            for p in payments.values()
            if refunded[p.id] != p.refunded_fen
        ],
    )
    await ledger.post_many(session, entries)
    done = sorted(p.order_id for p in payments.values() if p.refunded_fen >= p.amount_fen)
    if done:
        orders = (
            await session.scalars(
                select(Order)
                .where(Order.id.in_(done), Order.status != OrderStatus.refunded)
                .order_by(Order.id)
                .with_for_update()
            )
        ).all()
        by_kind: dict[str, list[Order]] = {}
        await _bulk_set(session, Order, [(o, {"status": OrderStatus.refunded}) for o in orders])
        for order in orders:
            by_kind.setdefault(order.kind, []).append(order)
        for group in by_kind.values():
            handler = handler_for(group[0])
            if handler.on_refunded_many is not None:
                await handler.on_refunded_many(session, group)
            else:
                for order in group:
                    await handler.on_refunded(session, order)
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
            accepted: list[tuple[Refund, dict[str, Any]]] = []
            for refund, result in zip(to_submit, results, strict=True):
                if isinstance(result, RefundAccepted):
                    accepted.append(
                        (
                            refund,
                            {
                                "attempts": refund.attempts + 1,
                                "status": RefundStatus.processing,
                                "channel_refund_no": result.channel_ref,
                                "next_attempt_at": now + POLL_AFTER,
                            },
                        )
                    )
                    continue
                refund.attempts += 1
                if isinstance(result, ChannelRejected):
                    refund.status = RefundStatus.failed
                    refund.last_error = str(result)[:500]
                else:
                    _retry_later(refund, str(result))
            await _bulk_set(session, Refund, accepted)
        bulk_query = getattr(channel, "query_refunds", None)
        if to_query and bulk_query is not None:
            await _query_many(session, bulk_query, to_query)
        else:
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


async def _query_many(
    session: AsyncSession,
    bulk_query: Callable[[Sequence[str]], Awaitable[Mapping[str, TradeQuery]]],
    refunds: Sequence[Refund],
) -> None:
    """Bulk form of `_query`: one status query for many refunds, one settlement for the
    succeeded ones."""
    try:
        answers = await bulk_query([r.out_refund_no for r in refunds])
    except ChannelTimeout as exc:
        for refund in refunds:
            refund.attempts += 1
            _retry_later(refund, str(exc))
        return
    succeeded: list[tuple[Refund, str | None]] = []
    for refund in refunds:
        result = answers.get(refund.out_refund_no) or TradeQuery(TradeStatus.unknown, 0)
        if result.status != TradeStatus.succeeded:
            refund.attempts += 1  # a settled refund's attempt is counted in its settlement
        if result.status == TradeStatus.succeeded:
            if result.amount_fen != refund.amount_fen:
                raise AmountMismatch(
                    f"channel reports {result.amount_fen} fen for {refund.out_refund_no}, "
                    f"we expect {refund.amount_fen}"
                )
            succeeded.append((refund, result.channel_ref))
        elif result.status == TradeStatus.failed:
            await apply_channel_verdict(
                session,
                refund.out_refund_no,
                result.amount_fen,
                NotificationKind.refund_failed,
                result.channel_ref,
            )
        elif result.status == TradeStatus.unknown:
            refund.status = RefundStatus.pending
            refund.next_attempt_at = utc_now()
        else:
            _retry_later(refund, "still processing at the channel")
    await _complete_many(session, succeeded, count_attempt=True)
