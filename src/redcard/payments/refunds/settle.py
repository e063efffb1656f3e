"""Settling a refund on the channel's word: a verified notification or a status query, never
the channel's acceptance. Settling moves the reservation out of refunds_payable, adds to the
payment's refunded total and lets fully refunded orders' kinds react. Also the operator's two
actions on the exceptions queue (retry with the same number, or settle offline), and the check
that the refunds table agrees with the refund entries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from redcard.errors import Conflict, NotFound
from redcard.kit.ids import reference
from redcard.kit.sql import add_to_rows, core_rows, one_of, update_rows
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
    Refund,
    RefundStatus,
)
from redcard.ops import metrics
from redcard.payments.orders import handler_for
from redcard.payments.port import NotificationKind
from redcard.payments.refunds.reserve import RefundExceedsPayment, refundable_fen
from redcard.payments.service import AmountMismatch

REFUNDS = cast(Table, Refund.__table__)
_PAYMENTS = cast(Table, Payment.__table__)


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
        metrics.count_on_commit(session, metrics.REFUNDS, RefundStatus.failed.value)
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
class Settled:
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
    """`settle_many` for loaded refunds (the single-refund paths); keeps the objects current."""
    if not verdicts:
        return
    await session.flush()  # pending changes to these refunds go first
    await settle_many(
        session,
        [
            Settled(
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


async def settle_many(
    session: AsyncSession, settled: Sequence[Settled], offline_reference: str | None = None
) -> None:
    """Settle the reservations (refunds_payable → channel_clearing), add to the payments'
    refunded totals, and let fully refunded orders' kinds react. Payments and orders are
    locked in id order; every write is one set-based statement per table."""
    if not settled:
        return
    now = utc_now()
    status = RefundStatus.offline if offline_reference else RefundStatus.succeeded
    metrics.count_on_commit(session, metrics.REFUNDS, status.value, amount=len(settled))
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
    else:  # one entry for the batch (the refunds are its subledger), as `reserve._batch_entries`
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
    await update_rows(session, REFUNDS, refund_rows)
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


async def _failed_that_still_fits(
    session: AsyncSession, refund_id: uuid.UUID, action: str
) -> Refund:
    """A failed refund, locked, that still fits in what is left of its payment.

    A failed refund no longer counts against its payment, so another refund may have taken
    its money since; bringing it back (a retry, an offline settlement) must not refund more
    than was paid. The payment is locked first, in the same order as a new request's."""
    found = await session.get(Refund, refund_id)
    if found is None:
        raise NotFound("no such refund")
    payment = await session.get_one(Payment, found.payment_id, with_for_update=True)
    refund = await session.get_one(Refund, refund_id, with_for_update=True)
    if refund.status != RefundStatus.failed:
        raise Conflict(f"only a failed refund can be {action}")
    left_fen = await refundable_fen(session, payment)
    if refund.amount_fen > left_fen:
        raise RefundExceedsPayment(
            f"this refund of {refund.amount_fen} fen no longer fits: other refunds have taken"
            f" its payment's money since it failed ({left_fen} fen left)"
        )
    return refund


async def retry_failed(session: AsyncSession, refund_id: uuid.UUID) -> Refund:
    """Operator action on the exceptions queue: try again with the same refund number."""
    refund = await _failed_that_still_fits(session, refund_id, "retried")
    refund.status = RefundStatus.pending
    refund.attempts = 0
    refund.next_attempt_at = utc_now()
    await session.flush()
    return refund


async def mark_offline(session: AsyncSession, refund_id: uuid.UUID, reference_text: str) -> Refund:
    """Operator action: the money went back outside the channel (bank transfer, cash)."""
    if not reference_text.strip():
        found = await session.get(Refund, refund_id)
        if found is None:
            raise NotFound("no such refund")
        if found.status != RefundStatus.failed:
            raise Conflict("only a failed refund can be settled offline")
        raise Conflict("an offline settlement needs a reference")
    refund = await _failed_that_still_fits(session, refund_id, "settled offline")
    await _complete(session, refund, None, offline_reference=reference_text.strip())
    return refund


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
