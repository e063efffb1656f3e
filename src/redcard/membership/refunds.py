"""A member's refunds: giving the card back (a preview of the amount first, then the refund),
and the member's view of every refund of theirs, their own or a sunset's, with its timeline.

The amount is everything paid within the plan's cooling-off period, then what the plan's
refund policy gives (membership/refund_policy.py), the benefits used counted from the ledger
(ledger/savings.savings_since); the money goes back through the one refund path
(payments/refunds). Closing the account ends the card the same way (`end_cards`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, NotFound
from redcard.kit.time import utc_now
from redcard.ledger.savings import savings_since
from redcard.membership import program
from redcard.membership.refund_policy import SelfServiceQuote, self_service_quote
from redcard.membership.schemas import MemberRefund, TimelineStep
from redcard.models import (
    Membership,
    MembershipStatus,
    Order,
    Payment,
    PaymentStatus,
    Plan,
    PlanKind,
    Refund,
    RefundReason,
    RefundStatus,
    User,
)
from redcard.payments import refunds as refund_path


class SelfRefundNotAllowed(Conflict):
    pass


class NoPaidCard(NotFound):
    pass


# -- the member's view ------------------------------------------------------------------------
async def member_refunds(session: AsyncSession, member: User) -> list[MemberRefund]:
    """Every refund of the member's orders, newest first, whatever asked for it."""
    rows = await session.execute(
        select(Refund, Order.id)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Order, Order.id == Payment.order_id)
        .where(Order.member_id == member.id)
        .order_by(Refund.created_at.desc())
    )
    out = []
    for refund, order_id in rows:
        steps = [TimelineStep(label="Refund requested", at=refund.created_at)]
        if refund.status in (RefundStatus.processing, RefundStatus.succeeded):
            steps.append(TimelineStep(label="Sent to the payment channel", at=None))
        if refund.status == RefundStatus.failed:
            steps.append(TimelineStep(label="Needs attention: our team is handling it", at=None))
        if refund.status == RefundStatus.succeeded:
            steps.append(
                TimelineStep(label="Refunded to your payment account", at=refund.succeeded_at)
            )
        if refund.status == RefundStatus.offline:
            steps.append(TimelineStep(label="Refunded by bank transfer", at=refund.succeeded_at))
        out.append(
            MemberRefund(
                refund_id=refund.id,
                order_id=order_id,
                amount_fen=refund.amount_fen,
                status="refunded" if refund.status == RefundStatus.offline else refund.status.value,
                reason=refund.reason,
                requested_at=refund.created_at,
                succeeded_at=refund.succeeded_at,
                timeline=steps,
            )
        )
    return out


# -- giving the card back ---------------------------------------------------------------------
@dataclass
class SelfRefundContext:
    card: Membership
    plan: Plan
    payment: Payment
    quote: SelfServiceQuote


async def _self_refund_context(
    session: AsyncSession, member: User, *, lock: bool
) -> SelfRefundContext:
    card = await session.scalar(
        select(Membership)
        .where(
            Membership.member_id == member.id,
            Membership.status == MembershipStatus.active,
            Membership.kind == PlanKind.paid,
        )
        .with_for_update(of=Membership)
        if lock
        else select(Membership).where(
            Membership.member_id == member.id,
            Membership.status == MembershipStatus.active,
            Membership.kind == PlanKind.paid,
        )
    )
    if card is None or card.order_id is None:
        raise NoPaidCard("you have no active paid card")
    plan = await session.get_one(Plan, card.plan_id)
    payment = await session.scalar(
        select(Payment).where(
            Payment.order_id == card.order_id, Payment.status == PaymentStatus.succeeded
        )
    )
    if payment is None:
        raise NoPaidCard("your card has no completed payment")
    now = utc_now()
    quote = self_service_quote(
        plan.refund_policy,
        plan.cooling_off_days,
        paid_fen=await refund_path.refundable_fen(session, payment),
        starts_at=card.starts_at,
        ends_at=card.ends_at,
        at=now,
        benefits_fen=await savings_since(session, member.id, card.starts_at),
    )
    if not await program.sales_open(session):
        quote = SelfServiceQuote(
            False,
            0,
            plan.refund_policy,
            "the programme is closing: every card is refunded automatically",
            quote.cooling_off_ends_at,
            quote.within_cooling_off,
            quote.paid_fen,
            quote.benefits_fen,
        )
    return SelfRefundContext(card, plan, payment, quote)


async def quote_self_refund(session: AsyncSession, member: User) -> SelfRefundContext:
    """The preview a member sees before confirming."""
    return await _self_refund_context(session, member, lock=False)


async def request_self_refund(session: AsyncSession, member: User) -> Refund:
    """The member gives the card back for the quoted amount (all of it within the cooling-off
    period, the plan's policy after it); benefits stop now and the refund goes through the
    one refund path. The card row is locked, so two clicks cannot refund twice."""
    ctx = await _self_refund_context(session, member, lock=True)
    if not ctx.quote.allowed:
        raise SelfRefundNotAllowed(ctx.quote.reason)
    refund = await refund_path.request_refund(
        session, ctx.payment.id, ctx.quote.amount_fen, reason=RefundReason.self_service
    )
    ctx.card.status = MembershipStatus.refunded
    ctx.card.ended_at = utc_now()
    await session.flush()
    return refund


async def end_cards(session: AsyncSession, member: User) -> Refund | None:
    """Closing the account: a paid card is given back as `request_self_refund` does when its
    quote allows a refund; whatever is still active after that (a trial, a card with nothing
    left to refund, one a sunset is refunding, one with no payment) ends now without one.
    Returns the refund, if any."""
    refund = None
    try:
        ctx = await _self_refund_context(session, member, lock=True)
    except NoPaidCard:
        ctx = None
    if ctx is not None and ctx.quote.allowed:
        refund = await request_self_refund(session, member)
    await session.execute(
        update(Membership)
        .where(Membership.member_id == member.id, Membership.status == MembershipStatus.active)
        .values(status=MembershipStatus.expired, ended_at=utc_now(), auto_renew=False)
        .execution_options(synchronize_session="fetch")
    )
    await session.flush()
    return refund
