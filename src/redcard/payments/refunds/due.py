"""The refund worker's step: claim due refunds and drive each to the channel's verdict.
Pending refunds are submitted with their fixed `out_refund_no`, processing ones are polled.
Killing the process at any point loses nothing: uncommitted work is redone with the same
numbers, which the channel treats as the same refunds. A refund that keeps failing to reach
the channel goes to the exceptions queue after MAX_ATTEMPTS.

One bad refund never holds up the rest: when a batch raises (say the channel reports a
different amount for one refund), its refunds are advanced again one by one, each in a
savepoint, and the one that raises is set aside with the reason (kit/retry).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.isolation import each_in_savepoint
from redcard.kit.retry import MAX_ATTEMPTS, backoff, error_text, is_transient
from redcard.kit.sql import core_rows, for_update_kwargs, update_rows
from redcard.kit.time import utc_now
from redcard.models import Payment, Refund, RefundStatus
from redcard.payments.channels import Channels, notify_url
from redcard.payments.port import (
    BulkRefunds,
    ChannelRejected,
    ChannelTimeout,
    NotificationKind,
    PaymentChannel,
    RefundAccepted,
    RefundRequest,
    TradeQuery,
    TradeStatus,
)
from redcard.payments.refunds.settle import REFUNDS, Settled, apply_channel_verdict, settle_many
from redcard.payments.service import AmountMismatch

POLL_AFTER = timedelta(seconds=30)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DueRefund:
    """A claimed refund as the worker needs it (a Core row, not an ORM object)."""

    id: uuid.UUID
    payment_id: uuid.UUID
    out_refund_no: str
    amount_fen: int
    reason: str
    status: RefundStatus
    attempts: int
    channel_refund_no: str | None
    channel: str
    out_trade_no: str


async def claim_due(session: AsyncSession, limit: int) -> list[DueRefund]:
    """Due refunds, oldest first, locked FOR UPDATE SKIP LOCKED (PostgreSQL), with their
    payment's channel and trade number."""
    now = utc_now()
    stmt = (
        select(
            Refund.id,
            Refund.payment_id,
            Refund.out_refund_no,
            Refund.amount_fen,
            Refund.reason,
            Refund.status,
            Refund.attempts,
            Refund.channel_refund_no,
            Payment.channel,
            Payment.out_trade_no,
        )
        .join(Payment, Payment.id == Refund.payment_id)
        .where(
            Refund.status.in_([RefundStatus.pending, RefundStatus.processing]),
            Refund.next_attempt_at <= now,  # a range of ix_refunds_due, read in order
        )
        .order_by(Refund.next_attempt_at, Refund.id)
        .limit(limit)
        .with_for_update(of=Refund, **for_update_kwargs(session, skip_locked=True))
    )
    return [DueRefund(*row) for row in await core_rows(session, stmt)]


async def process_due(
    session: AsyncSession, channels: Channels, base_url: str, limit: int = 500
) -> int:
    """Advance up to `limit` due refunds: submit pending ones, query processing ones.
    Killing the process at any point loses nothing: uncommitted work is redone with the
    same refund numbers, which the channel treats as the same refunds.

    The common outcomes (accepted, succeeded) are written set-based; the rare ones (timeouts,
    rejections, failures) go through the loaded refund, one by one."""
    due = await claim_due(session, limit)
    if not due:
        return 0
    try:
        async with session.begin_nested():
            await _advance(session, channels, base_url, due)
    except Exception as exc:  # one refund spoiled the batch: find it, let the others through
        log.warning("refund batch failed (%s); advancing its refunds one by one", error_text(exc))

        async def advance_one(refund: DueRefund) -> None:
            await _advance(session, channels, base_url, [refund])

        async def set_aside(refund: DueRefund, error: Exception) -> None:
            await _set_aside(session, refund, error)

        await each_in_savepoint(session, due, advance_one, set_aside)
    await session.flush()
    return len(due)


async def _set_aside(session: AsyncSession, due_refund: DueRefund, exc: Exception) -> None:
    """A refund whose advance raised: counted, and retried later if the failure may pass;
    otherwise (our records and the channel's disagree, a bug) into the exceptions queue."""
    refund = await session.get_one(Refund, due_refund.id, populate_existing=True)
    refund.attempts += 1
    if is_transient(exc):
        _retry_later(refund, error_text(exc))
    else:
        refund.status = RefundStatus.failed
        refund.last_error = error_text(exc)
    log.error(
        "refund %s set aside (%s): %s",
        refund.out_refund_no,
        refund.status.value,
        refund.last_error,
        extra={"request_id": refund.request_id},
    )


async def _advance(
    session: AsyncSession, channels: Channels, base_url: str, due: Sequence[DueRefund]
) -> None:
    now = utc_now()
    by_channel: dict[str, list[DueRefund]] = {}
    for refund in due:
        by_channel.setdefault(refund.channel, []).append(refund)
    for channel_name, group in by_channel.items():
        channel = channels.get(channel_name)
        to_submit = [r for r in group if r.status == RefundStatus.pending]
        to_query = [r for r in group if r.status == RefundStatus.processing]
        if to_submit:
            requests = [
                RefundRequest(
                    out_trade_no=r.out_trade_no,
                    out_refund_no=r.out_refund_no,
                    amount_fen=r.amount_fen,
                    reason=r.reason,
                    notify_url=notify_url(base_url, channel_name),
                )
                for r in to_submit
            ]
            results = await _submit(channel, requests)
            accepted: list[tuple[DueRefund, str]] = []
            others: list[tuple[DueRefund, Exception]] = []
            for refund, result in zip(to_submit, results, strict=True):
                if isinstance(result, RefundAccepted):
                    accepted.append((refund, result.channel_ref))
                else:
                    others.append((refund, result))
            await _accepted(session, channel, accepted, now)
            for due_refund, error in others:
                loaded = await session.get_one(Refund, due_refund.id)
                loaded.attempts += 1
                if isinstance(error, ChannelRejected):
                    loaded.status = RefundStatus.failed
                    loaded.last_error = str(error)[:500]
                else:
                    _retry_later(loaded, str(error))
        if to_query and isinstance(channel, BulkRefunds):
            await _query_many(session, channel, to_query)
        else:
            for due_refund in to_query:
                await _query(session, channel, await session.get_one(Refund, due_refund.id))
    await session.flush()


async def _submit(
    channel: PaymentChannel, requests: Sequence[RefundRequest]
) -> Sequence[RefundAccepted | Exception]:
    """Each request's answer, in order: the channel's acceptance, or its timeout or no."""
    if isinstance(channel, BulkRefunds):
        return await channel.refund_many(requests)
    results: list[RefundAccepted | Exception] = []
    for request in requests:
        try:
            results.append(await channel.refund(request))
        except (ChannelTimeout, ChannelRejected) as exc:
            results.append(exc)
    return results


async def _accepted(
    session: AsyncSession,
    channel: PaymentChannel,
    accepted: Sequence[tuple[DueRefund, str]],
    now: datetime,
) -> None:
    """Refunds the channel has just accepted. Accepting is not succeeding: each waits for the
    channel's word. A channel that answers many status queries in one call is asked once
    right away, and those it already reports succeeded (amount checked) settle now, in the
    same write; the rest become processing and are polled after POLL_AFTER (a failure or a
    mismatch is handled there, by the usual path)."""
    if not accepted:
        return
    answers: Mapping[str, TradeQuery] = {}
    if isinstance(channel, BulkRefunds):
        try:
            answers = await channel.query_refunds([r.out_refund_no for r, _ in accepted])
        except ChannelTimeout:
            answers = {}
    settled: list[Settled] = []
    processing: list[dict[str, Any]] = []
    for refund, channel_ref in accepted:
        answer = answers.get(refund.out_refund_no)
        if (
            answer is not None
            and answer.status == TradeStatus.succeeded
            and answer.amount_fen == refund.amount_fen
        ):
            settled.append(
                Settled(
                    refund.id,
                    refund.payment_id,
                    refund.out_refund_no,
                    refund.amount_fen,
                    refund.attempts + 1,
                    answer.channel_ref or channel_ref,
                )
            )
        else:
            processing.append(
                {
                    "id": refund.id,
                    "attempts": refund.attempts + 1,
                    "status": RefundStatus.processing.value,
                    "channel_refund_no": channel_ref,
                    "next_attempt_at": now + POLL_AFTER,
                }
            )
    await update_rows(session, REFUNDS, processing)
    await settle_many(session, settled)


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
    await _on_answer(session, refund, result)


async def _on_answer(session: AsyncSession, refund: Refund, result: TradeQuery) -> None:
    """What the channel's answer to a status query means for one refund (its attempt is
    already counted): its verdict, a new submission, or another poll later."""
    if result.status in (TradeStatus.succeeded, TradeStatus.failed):
        await apply_channel_verdict(
            session,
            refund.out_refund_no,
            result.amount_fen,
            NotificationKind.refund_succeeded
            if result.status == TradeStatus.succeeded
            else NotificationKind.refund_failed,
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
    channel: BulkRefunds,
    refunds: Sequence[DueRefund],
) -> None:
    """Bulk form of `_query`: one status query for many refunds, one set-based settlement
    for the succeeded ones (their poll is counted in the settlement's write)."""
    try:
        answers = await channel.query_refunds([r.out_refund_no for r in refunds])
    except ChannelTimeout as exc:
        for due_refund in refunds:
            loaded = await session.get_one(Refund, due_refund.id)
            loaded.attempts += 1
            _retry_later(loaded, str(exc))
        return
    succeeded: list[Settled] = []
    for due_refund in refunds:
        result = answers.get(due_refund.out_refund_no) or TradeQuery(TradeStatus.unknown, 0)
        if result.status == TradeStatus.succeeded:
            if result.amount_fen != due_refund.amount_fen:
                raise AmountMismatch(
                    f"channel reports {result.amount_fen} fen for {due_refund.out_refund_no}, "
                    f"we expect {due_refund.amount_fen}"
                )
            succeeded.append(
                Settled(
                    due_refund.id,
                    due_refund.payment_id,
                    due_refund.out_refund_no,
                    due_refund.amount_fen,
                    due_refund.attempts + 1,
                    result.channel_ref or due_refund.channel_refund_no,
                )
            )
            continue
        loaded = await session.get_one(Refund, due_refund.id)
        loaded.attempts += 1
        await _on_answer(session, loaded, result)
    await settle_many(session, succeeded)
