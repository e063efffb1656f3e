"""The one refund path. Self-service refunds, event cancellations and the program sunset all
call `request_refund`; the worker drives every refund to a verdict with `process_due`.

Exactly once: a refund's `out_refund_no` is chosen when the row is written and reused on every
retry, and the channel refunds a number at most once. A refund succeeds only on a verified
notification or a status query, never because the channel accepted it.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from redcard.errors import Conflict, NotFound
from redcard.kit.ids import new_id, reference
from redcard.kit.sql import (
    add_to_rows,
    core_rows,
    for_update_kwargs,
    insert_rows,
    one_of,
    update_rows,
)
from redcard.kit.time import utc_now
from redcard.ledger import service as ledger
from redcard.ledger.accounts import Account
from redcard.models import (
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Order,
    OrderKind,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
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


_REFUNDS: Table = Refund.__table__  # type: ignore[assignment]
_PAYMENTS: Table = Payment.__table__  # type: ignore[assignment]


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


async def request_refunds(
    session: AsyncSession, asks: Sequence[RefundAsk], *, due_at: datetime | None = None
) -> list[uuid.UUID]:
    """Bulk form of `request_refund` with the same rules: the payments are locked in id order,
    each refund must fit in what is left of its payment, and each reservation posts
    (order's account → refunds_payable). All or nothing: one bad ask raises for the batch.
    Set-based: a batch is a handful of statements whatever its size. The worker submits the
    refunds from `due_at` on (a sunset's cut-off), at once without it."""
    if not asks:
        return []
    ids = sorted({a.payment_id for a in asks})
    rows = {
        row.id: row
        for row in await core_rows(
            session,
            select(Payment.id, Payment.status, Payment.amount_fen, Payment.order_id, Order.kind)
            .join(Order, Order.id == Payment.order_id)
            .where(one_of(session, Payment.id, ids))
            .order_by(Payment.id)
            .with_for_update(of=Payment),
        )
    }
    reserved: dict[uuid.UUID, int] = {
        pid: int(total)
        for pid, total in await core_rows(
            session,
            select(Refund.payment_id, func.sum(Refund.amount_fen))
            .where(
                one_of(session, Refund.payment_id, ids),
                Refund.status != RefundStatus.failed,
            )
            .group_by(Refund.payment_id),
        )
    }
    credit = await _credit_sides(session, {r.order_id: r.kind for r in rows.values()})
    now = utc_now()
    refund_rows: list[dict[str, Any]] = []
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
                "status": (RefundStatus.pending if ask.submit else RefundStatus.failed).value,
                "attempts": 0,
                "next_attempt_at": max(now, due_at) if due_at else now,
                "last_error": None if ask.submit else (ask.note or "needs a manual refund")[:500],
            }
        )
        account, owner = credit[payment.order_id]
        entries.append(
            ledger.Entry(
                kind="refund_requested",
                ref=out_refund_no,
                lines=[
                    ledger.Line(account, ask.amount_fen, owner),
                    ledger.Line(Account.refunds_payable, -ask.amount_fen),
                ],
            )
        )
    posted, refs = _batch_entries(entries, "RQ")
    for row in refund_rows:
        row["reserve_entry_ref"] = refs[row["out_refund_no"]]
    await insert_rows(session, _REFUNDS, refund_rows)
    await ledger.post_many(session, posted, balances_last=True)
    return [row["id"] for row in refund_rows]


async def post_bulk_reservation(
    session: AsyncSession, totals: Mapping[OrderKind, int], count: int
) -> str:
    """Post the reservation of `count` refunds written set-based (a sunset's approval under
    `full`), given their totals per order kind: the one entry `request_refunds` posts for a
    batch (`_batch_entries`). Returns its ref, which those refunds record as
    `reserve_entry_ref`. Only for kinds whose account has no owner: an owner's refund keeps an
    entry of its own."""
    per_kind = []
    for kind, fen in sorted(totals.items()):
        handler = handler_for(Order(kind=kind))
        if handler.credit_owner is not None:
            raise ValueError(f"refunds of {kind.value} orders need entries of their own")
        per_kind.append(
            ledger.Entry(
                kind="refund_requested",
                ref=kind.value,
                lines=[
                    ledger.Line(handler.credit_account, fen),
                    ledger.Line(Account.refunds_payable, -fen),
                ],
            )
        )
    entry = ledger.summarise(
        "refund_requested", reference("RQ"), per_kind, memo=f"batch of {count} refunds"
    )
    await ledger.post_many(session, [entry], balances_last=True)
    return entry.ref


def _batch_entries(
    entries: Sequence[ledger.Entry], prefix: str
) -> tuple[list[ledger.Entry], dict[str, str]]:
    """The entries to post for a batch of per-refund entries (each `ref` is its refund's
    number), and the ref of the entry that covers each refund. Lines on platform accounts are
    summed into one entry per batch (`ledger.summarise`), so a campaign writes a few lines per
    batch, not four per refund; the refunds table is the subledger. A refund that touches an
    owner's account (a merchant's, for a 买单) keeps its own entry, which that owner's
    statement cites by refund number; so does a batch of one."""
    own = [e for e in entries if any(line.owner for line in e.lines)]
    shared = [e for e in entries if not any(line.owner for line in e.lines)]
    refs = {e.ref: e.ref for e in own}
    if len(shared) <= 1:
        return list(entries), {e.ref: e.ref for e in entries}
    batch = ledger.summarise(
        shared[0].kind, reference(prefix), shared, memo=f"batch of {len(shared)} refunds"
    )
    refs.update({e.ref: batch.ref for e in shared})
    return [*own, batch], refs


async def subledger_differences(session: AsyncSession) -> list[str]:
    """The refunds table is the subledger of the refund entries: each entry's refunds_payable
    line must equal the sum of the refunds it covers (reservations through
    `reserve_entry_ref`, settlements through `settle_entry_ref`). Returns the refs that
    disagree, a refund's number where no entry covers it. Two grouped reads per stage."""
    out: list[str] = []
    for kind, column, sign, done in (
        ("refund_requested", Refund.reserve_entry_ref, -1, None),
        ("refund", Refund.settle_entry_ref, 1, [RefundStatus.succeeded, RefundStatus.offline]),
    ):
        rows = select(Refund.amount_fen, Refund.out_refund_no, column.label("ref"))
        if done is not None:
            rows = rows.where(Refund.status.in_(done))
        sub = rows.subquery()
        ours = select(
            func.coalesce(sub.c.ref, sub.c.out_refund_no).label("ref"),
            sub.c.amount_fen.label("ours"),
            literal(0).label("posted"),
        )
        posted = (
            select(
                JournalEntry.ref.label("ref"),
                literal(0).label("ours"),
                (sign * JournalLine.amount_fen).label("posted"),
            )
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
            .where(JournalEntry.kind == kind, LedgerAccount.code == Account.refunds_payable)
        )
        both = union_all(ours, posted).subquery()
        out += [
            f"{kind}/{ref}"
            for (ref,) in await session.execute(
                select(both.c.ref)
                .group_by(both.c.ref)
                .having(func.sum(both.c.ours) != func.sum(both.c.posted))
                .order_by(both.c.ref)
                .limit(100)
            )
        ]
    return out


ledger.register_subledger("refunds", subledger_differences)


async def _credit_sides(
    session: AsyncSession, kinds: Mapping[uuid.UUID, OrderKind]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Each order's (account, owner) for `credit_line`, without loading every order: only the
    kinds whose account has an owner (e.g. a 买单's merchant) load theirs."""
    handlers = {kind: handler_for(Order(kind=kind)) for kind in set(kinds.values())}
    out: dict[uuid.UUID, tuple[str, str]] = {}
    owned = [oid for oid, kind in kinds.items() if handlers[kind].credit_owner is not None]
    for oid, kind in kinds.items():
        if handlers[kind].credit_owner is None:
            out[oid] = (handlers[kind].credit_account, "")
    if owned:
        for order in await session.scalars(select(Order).where(Order.id.in_(owned))):
            line = await credit_line(session, order, 0)
            out[order.id] = (line.account, line.owner)
    return out


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


@dataclass(frozen=True, slots=True)
class _Settled:
    """One refund the channel (or an operator, offline) says is done, as the settlement
    writes it."""

    id: uuid.UUID
    payment_id: uuid.UUID
    out_refund_no: str
    amount_fen: int
    attempts: int
    channel_refund_no: str | None


async def _complete_many(
    session: AsyncSession,
    verdicts: Sequence[tuple[Refund, str | None]],
    offline_reference: str | None = None,
) -> None:
    """`_settle` for loaded refunds (the single-refund paths); keeps the objects current."""
    if not verdicts:
        return
    await session.flush()  # pending changes to these refunds go first
    await _settle(
        session,
        [
            _Settled(
                r.id,
                r.payment_id,
                r.out_refund_no,
                r.amount_fen,
                r.attempts,
                channel_ref or r.channel_refund_no,
            )
            for r, channel_ref in verdicts
        ],
        offline_reference,
    )


def _sync_loaded(
    session: AsyncSession,
    model: Any,
    changes: Callable[[], Mapping[uuid.UUID, Mapping[str, Any]]],
) -> None:
    """Rows changed with set-based SQL: objects of them already in the session see the new
    values (as committed state, so the ORM does not write them again). `changes` is only
    built when the session holds objects of `model` (a worker's batch usually holds none)."""
    loaded = [obj for obj in session.identity_map.values() if isinstance(obj, model)]
    if not loaded:
        return
    by_id = changes()
    for obj in loaded:
        if obj.id in by_id:
            for key, value in by_id[obj.id].items():
                set_committed_value(obj, key, value)


async def _settle(
    session: AsyncSession, settled: Sequence[_Settled], offline_reference: str | None = None
) -> None:
    """Settle the reservations (refunds_payable → channel_clearing), add to the payments'
    refunded totals, and let fully refunded orders' kinds react. Payments and orders are
    locked in id order; every write is one set-based statement per table."""
    if not settled:
        return
    now = utc_now()
    status = RefundStatus.offline if offline_reference else RefundStatus.succeeded
    refund_rows: list[dict[str, Any]] = [
        {
            "id": s.id,
            "status": status.value,
            "offline_reference": offline_reference,
            "channel_refund_no": s.channel_refund_no,
            "succeeded_at": now,
            "attempts": s.attempts,
        }
        for s in settled
    ]
    if len(settled) == 1:  # its own entry, which an owner's statement can cite by number
        [one] = settled
        ref = one.out_refund_no
        total, memo = one.amount_fen, f"offline: {offline_reference}" if offline_reference else None
    else:  # one entry for the batch (the refunds are its subledger), as `_batch_entries`
        ref = reference("RS")
        total, memo = sum(s.amount_fen for s in settled), f"batch of {len(settled)} refunds"
    entry = ledger.Entry(
        kind="refund",
        ref=ref,
        lines=[
            ledger.Line(Account.refunds_payable, total),
            ledger.Line(Account.channel_clearing, -total),
        ],
        memo=memo,
    )
    for row in refund_rows:
        row["settle_entry_ref"] = ref
    refunded: dict[uuid.UUID, int] = defaultdict(int)
    for s in settled:
        refunded[s.payment_id] += s.amount_fen
    await update_rows(session, _REFUNDS, refund_rows)
    # the payments' refunded totals grow in place (payments locked in id order); no read first
    payments = await add_to_rows(
        session,
        _PAYMENTS,
        "refunded_fen",
        refunded,
        ["id", "order_id", "amount_fen", "refunded_fen"],
    )
    _sync_loaded(session, Refund, lambda: {r["id"]: _refund_changes(r) for r in refund_rows})
    _sync_loaded(
        session, Payment, lambda: {p.id: {"refunded_fen": p.refunded_fen} for p in payments}
    )
    # the shared account rows are locked at the end of the posting, before the orders (the
    # order of locks every settlement has kept)
    await ledger.post_many(session, [entry], balances_last=True)
    done = sorted(p.order_id for p in payments if p.refunded_fen >= p.amount_fen)
    if done:
        await _orders_refunded(session, done)


def _refund_changes(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: RefundStatus(v) if k == "status" else v for k, v in row.items() if k != "id"}


async def _orders_refunded(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> None:
    """Fully refunded orders (locked in id order) become refunded and their kinds react: in
    bulk where the kind has a bulk handler, which sees just the orders' ids and kinds."""
    rows = await core_rows(
        session,
        update(Order)
        .where(one_of(session, Order.id, order_ids), Order.status != OrderStatus.refunded)
        .values(status=OrderStatus.refunded)
        .returning(Order.id, Order.kind),
    )
    if not rows:
        return
    _sync_loaded(session, Order, lambda: {oid: {"status": OrderStatus.refunded} for oid, _ in rows})
    by_kind: dict[OrderKind, list[uuid.UUID]] = {}
    for oid, kind in rows:
        by_kind.setdefault(kind, []).append(oid)
    for kind, ids in by_kind.items():
        handler = handler_for(Order(kind=kind))
        if handler.on_refunded_many is not None:
            await handler.on_refunded_many(session, ids)
        else:
            for order in await session.scalars(
                select(Order).where(Order.id.in_(ids)).order_by(Order.id)
            ):
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
            accepted: list[tuple[DueRefund, str]] = []
            others: list[tuple[DueRefund, object]] = []
            for refund, result in zip(to_submit, results, strict=True):
                if isinstance(result, RefundAccepted):
                    accepted.append((refund, result.channel_ref))
                else:
                    others.append((refund, result))
            await _accepted(session, channel, accepted, now)
            for due_refund, result in others:
                loaded = await session.get_one(Refund, due_refund.id)
                loaded.attempts += 1
                if isinstance(result, ChannelRejected):
                    loaded.status = RefundStatus.failed
                    loaded.last_error = str(result)[:500]
                else:
                    _retry_later(loaded, str(result))
        bulk_query = getattr(channel, "query_refunds", None)
        if to_query and bulk_query is not None:
            await _query_many(session, bulk_query, to_query)
        else:
            for due_refund in to_query:
                await _query(session, channel, await session.get_one(Refund, due_refund.id))
    await session.flush()
    return len(due)


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
    bulk_query = getattr(channel, "query_refunds", None)
    if bulk_query is not None:
        try:
            answers = await bulk_query([r.out_refund_no for r, _ in accepted])
        except ChannelTimeout:
            answers = {}
    settled: list[_Settled] = []
    processing: list[dict[str, Any]] = []
    for refund, channel_ref in accepted:
        answer = answers.get(refund.out_refund_no)
        if (
            answer is not None
            and answer.status == TradeStatus.succeeded
            and answer.amount_fen == refund.amount_fen
        ):
            settled.append(
                _Settled(
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
    await update_rows(session, _REFUNDS, processing)
    await _settle(session, settled)


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
    refunds: Sequence[DueRefund],
) -> None:
    """Bulk form of `_query`: one status query for many refunds, one set-based settlement
    for the succeeded ones (their poll is counted in the settlement's write)."""
    try:
        answers = await bulk_query([r.out_refund_no for r in refunds])
    except ChannelTimeout as exc:
        for due_refund in refunds:
            loaded = await session.get_one(Refund, due_refund.id)
            loaded.attempts += 1
            _retry_later(loaded, str(exc))
        return
    succeeded: list[_Settled] = []
    for due_refund in refunds:
        result = answers.get(due_refund.out_refund_no) or TradeQuery(TradeStatus.unknown, 0)
        if result.status == TradeStatus.succeeded:
            if result.amount_fen != due_refund.amount_fen:
                raise AmountMismatch(
                    f"channel reports {result.amount_fen} fen for {due_refund.out_refund_no}, "
                    f"we expect {due_refund.amount_fen}"
                )
            succeeded.append(
                _Settled(
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
        if result.status == TradeStatus.failed:
            await apply_channel_verdict(
                session,
                due_refund.out_refund_no,
                result.amount_fen,
                NotificationKind.refund_failed,
                result.channel_ref,
            )
        elif result.status == TradeStatus.unknown:
            loaded.status = RefundStatus.pending
            loaded.next_attempt_at = utc_now()
        else:
            _retry_later(loaded, "still processing at the channel")
    await _settle(session, succeeded)
