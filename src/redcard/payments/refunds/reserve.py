"""Reserving a refund: the one entry point every refund takes (self-service, event
cancellations, a program's sunset). A refund is reserved under its payment's row lock, must
fit in what is left of the payment, and gets its `out_refund_no` here, once: every later
submission and retry uses that number, and the channel refunds a number at most once.

The worker (`due`) submits reserved refunds; `settle` records the channel's verdict.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, NotFound
from redcard.kit.ids import new_id, reference
from redcard.kit.sql import core_rows, insert_rows, one_of
from redcard.kit.time import utc_now
from redcard.ledger import service as ledger
from redcard.ledger.accounts import Account
from redcard.models import (
    Order,
    OrderKind,
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from redcard.ops import metrics
from redcard.ops.logs import current_request_id
from redcard.payments.orders import credit_line, handler_for


class RefundExceedsPayment(Conflict):
    pass


class PaymentNotRefundable(Conflict):
    pass


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
    reason: RefundReason
    campaign_id: uuid.UUID | None = None
    submit: bool = True
    note: str | None = None


async def request_refund(
    session: AsyncSession,
    payment_id: uuid.UUID,
    amount_fen: int,
    reason: RefundReason,
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
    request_id = current_request_id()  # the bulk insert applies no column defaults
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
                "request_id": request_id,
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
    await insert_rows(session, cast(Table, Refund.__table__), refund_rows)
    metrics.count_on_commit(session, metrics.REFUNDS, "requested", amount=len(refund_rows))
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
