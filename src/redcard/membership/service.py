"""Membership rules: plans, purchase, activation on confirmed payment, trials, terms."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.companions import service as companions
from redcard.errors import Conflict, InvalidInput, NotFound
from redcard.kit.sql import one_of
from redcard.kit.time import utc_now
from redcard.ledger.accounts import Account
from redcard.membership import program
from redcard.membership import repository as repo
from redcard.membership.schemas import Plan as PlanView
from redcard.membership.schemas import PlanCatalogue, PlanCreate, PlanUpdate
from redcard.models import (
    Membership,
    MembershipStatus,
    Order,
    OrderKind,
    Payment,
    Plan,
    PlanKind,
    PlanStatus,
    RefundReason,
    TermsVersion,
    User,
)
from redcard.ops import metrics
from redcard.payments import service as payments
from redcard.payments.channels import Channels
from redcard.payments.orders import OrderHandler

MEMBERSHIP_TERMS = "membership"


class PlanNotFound(NotFound):
    pass


class PlanNotOnSale(Conflict):
    pass


class AlreadyMember(Conflict):
    pass


class TrialConversionNeedsConsent(Conflict):
    pass


class TrialAlreadyUsed(Conflict):
    pass


class PlanCodeTaken(Conflict):
    pass


class SalesClosed(Conflict):
    pass


# -- terms ------------------------------------------------------------------------------------
async def publish_terms(session: AsyncSession, code: str, title: str, body: str) -> TermsVersion:
    """Publish a new version; earlier versions stay as they were for the orders that cite them."""
    if not title.strip() or not body.strip():
        raise InvalidInput("terms need a title and a body")
    latest = await repo.latest_terms(session, code)
    terms = TermsVersion(
        code=code,
        version=(latest.version + 1) if latest else 1,
        title=title.strip(),
        body=body.strip(),
        published_at=utc_now(),
    )
    session.add(terms)
    await session.flush()
    return terms


# -- plans ------------------------------------------------------------------------------------
async def create_plan(session: AsyncSession, data: PlanCreate) -> Plan:
    if data.kind == PlanKind.paid and data.price_fen <= 0:
        raise InvalidInput("a paid plan has a price above zero")
    if data.kind == PlanKind.trial and data.price_fen != 0:
        raise InvalidInput("a trial plan is free")
    if await session.scalar(select(Plan.id).where(Plan.code == data.code)):
        raise PlanCodeTaken(f"a plan with code {data.code!r} exists")
    terms = await repo.latest_terms(session, MEMBERSHIP_TERMS)
    if terms is None:
        raise Conflict("publish the membership terms before creating plans")
    plan = Plan(**data.model_dump(), terms_version_id=terms.id)
    session.add(plan)
    await session.flush()
    return plan


async def catalogue(session: AsyncSession) -> PlanCatalogue:
    """The plans on sale, as the API and the plans page show them: none once sales are
    closed, with the members' notice and the cut-off saying why."""
    sales = await program.sales(session)
    if not sales.open:
        campaign = sales.campaign
        return PlanCatalogue(
            sales_open=False,
            closed_at=sales.closed_at,
            notice=campaign.notice if campaign else None,
            cutoff_at=campaign.cutoff_at if campaign else None,
            plans=[],
        )
    plans = [PlanView.model_validate(p) for p in await repo.list_plans(session)]
    return PlanCatalogue(sales_open=True, plans=plans)


async def featured_plan(session: AsyncSession) -> Plan | None:
    """The card pages offer first (a new member's greeting, an event's upgrade link): the
    longest paid plan on sale, the annual card; None while no paid plan is on sale."""
    if not (await program.sales(session)).open:
        return None
    paid = [p for p in await repo.list_plans(session) if p.kind == PlanKind.paid]
    return max(paid, key=lambda p: (p.duration_days, -p.price_fen), default=None)


async def get_plan(session: AsyncSession, plan_id: uuid.UUID) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound("no such plan")
    return plan


async def update_plan(session: AsyncSession, plan_id: uuid.UUID, data: PlanUpdate) -> Plan:
    """Rename, re-price or retire. A new price applies to orders placed from now on. The
    English name changes only when the update names it (null drops it)."""
    plan = await get_plan(session, plan_id)
    plan.name = data.name
    if "name_en" in data.model_fields_set:
        plan.name_en = data.name_en
    if data.price_fen is not None:
        if plan.kind == PlanKind.paid and data.price_fen <= 0:
            raise InvalidInput("a paid plan has a price above zero")
        if plan.kind == PlanKind.trial and data.price_fen != 0:
            raise InvalidInput("a trial plan is free")
        plan.price_fen = data.price_fen
    if data.status is not None:
        plan.status = data.status
    await session.flush()
    return plan


# -- purchase ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Purchase:
    order: Order
    payment: Payment


async def _on_sale(session: AsyncSession, plan_id: uuid.UUID, kind: PlanKind) -> Plan:
    plan = await get_plan(session, plan_id)
    if plan.status != PlanStatus.active or plan.kind != kind:
        raise PlanNotOnSale("this plan is not on sale")
    if not await program.sales_open(session):
        raise SalesClosed("the programme has stopped selling cards")
    return plan


async def purchase(
    session: AsyncSession,
    channels: Channels,
    member: User,
    plan_id: uuid.UUID,
    *,
    convert_trial: bool,
    base_url: str,
) -> Purchase:
    """Create an order at today's price and terms, and start its payment. The card is
    activated only when the channel confirms the payment."""
    plan = await _on_sale(session, plan_id, PlanKind.paid)
    await companions.check_may_hold_card(session, member.id)  # not while a companion
    await repo.expire_lapsed(session, member.id)
    active = await repo.get_active_by_member(session, member.id)
    if active is not None and active.kind == PlanKind.paid:
        raise AlreadyMember("you already have an active card")
    if active is not None and not convert_trial:
        raise TrialConversionNeedsConsent(
            "you have a trial card; confirm that it should end when the paid card starts"
        )
    order = Order(
        member_id=member.id,
        kind=OrderKind.membership,
        plan_id=plan.id,
        terms_version_id=plan.terms_version_id,
        amount_fen=plan.price_fen,
        converts_trial=convert_trial and active is not None,
    )
    session.add(order)
    await session.flush()
    payment = await payments.start_payment(
        session,
        channels,
        order,
        subject=plan.name,
        base_url=base_url,
        return_url=f"{base_url}/orders/{order.id}",
    )
    return Purchase(order=order, payment=payment)


async def _activate(session: AsyncSession, order: Order) -> None:
    """Payment confirmed: start the card. If another card became active meanwhile (two orders
    paid in a race), this payment is refunded in full rather than kept."""
    assert order.plan_id is not None
    plan = await session.get_one(Plan, order.plan_id)
    await repo.expire_lapsed(session, order.member_id)
    active = await repo.get_active_by_member(session, order.member_id)
    now = utc_now()
    if not await program.sales_open(session):
        # paid after the programme stopped selling (a purchase racing the sunset's approval):
        # never keep the money without a card
        await _refund_unwanted(session, order, reason=RefundReason.sales_closed)
        return
    try:
        await companions.check_may_hold_card(session, order.member_id)
    except companions.StillACompanion:  # became a companion while this order was being paid
        await _refund_unwanted(session, order, reason=RefundReason.duplicate)
        return
    if active is not None and active.kind == PlanKind.trial and order.converts_trial:
        active.status = MembershipStatus.converted
        active.ended_at = now
        await session.flush()
    elif active is not None:
        await _refund_unwanted(session, order, reason=RefundReason.duplicate)
        return
    session.add(
        Membership(
            member_id=order.member_id,
            plan_id=plan.id,
            order_id=order.id,
            kind=PlanKind.paid,
            status=MembershipStatus.active,
            starts_at=now,
            ends_at=now + timedelta(days=plan.duration_days),
        )
    )
    metrics.count_on_commit(session, metrics.PURCHASES, PlanKind.paid.value)
    await session.flush()


async def _refund_unwanted(session: AsyncSession, order: Order, reason: RefundReason) -> None:
    payment = await session.scalar(
        select(Payment).where(Payment.order_id == order.id, Payment.status == "succeeded")
    )
    assert payment is not None
    from redcard.payments.refunds import request_refund

    await request_refund(session, payment.id, payment.amount_fen, reason=reason)


async def _on_refunded(session: AsyncSession, order: Order) -> None:
    await _on_refunded_many(session, [order.id])


async def _on_refunded_many(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> None:
    """Fully refunded orders: their cards end (a card suspended by a sunset becomes refunded)."""
    await session.execute(
        update(Membership)
        .where(
            one_of(session, Membership.order_id, order_ids),
            Membership.status.in_([MembershipStatus.active, MembershipStatus.suspended]),
        )
        .values(
            status=MembershipStatus.refunded, ended_at=func.coalesce(Membership.ended_at, utc_now())
        )
        .execution_options(synchronize_session=False)
    )


# what payments does with card orders; registered at start-up by redcard.order_kinds
ORDER_HANDLER = OrderHandler(
    credit_account=Account.deferred_membership_revenue,
    on_paid=_activate,
    on_refunded=_on_refunded,
    on_refunded_many=_on_refunded_many,
)


# -- trial ------------------------------------------------------------------------------------
async def start_trial(session: AsyncSession, member: User, plan_id: uuid.UUID) -> Membership:
    """A free card. It never turns into a paid one by itself: conversion is a purchase with
    explicit consent."""
    plan = await _on_sale(session, plan_id, PlanKind.trial)
    await companions.check_may_hold_card(session, member.id)  # not while a companion
    await repo.expire_lapsed(session, member.id)
    if await repo.get_active_by_member(session, member.id) is not None:
        raise AlreadyMember("you already have an active card")
    if await repo.has_had_trial(session, member.id):
        raise TrialAlreadyUsed("the free trial can be used once")
    now = utc_now()
    card = Membership(
        member_id=member.id,
        plan_id=plan.id,
        kind=PlanKind.trial,
        status=MembershipStatus.active,
        starts_at=now,
        ends_at=now + timedelta(days=plan.duration_days),
    )
    session.add(card)
    await session.flush()
    return card


# -- reading ----------------------------------------------------------------------------------
async def get_member_order(session: AsyncSession, member: User, order_id: uuid.UUID) -> Order:
    """A member's own order. Another member's order is reported as not found."""
    order = await session.get(Order, order_id)
    if order is None or order.member_id != member.id:
        raise NotFound("no such order")
    return order


async def refresh_order(
    session: AsyncSession, channels: Channels, member: User, order_id: uuid.UUID
) -> Order:
    """Ask the channel about a pending order (the member came back from the cashier)."""
    order = await get_member_order(session, member, order_id)
    payment = await payments.get_order_payment(session, order.id)
    if payment is not None:
        await payments.sync_payment(session, channels, payment)
        await session.refresh(order)  # a concurrent notification may have settled it
    return order
