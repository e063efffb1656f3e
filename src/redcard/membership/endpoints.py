from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from redcard.deps import Ctx, Member, Operator, Public, Session
from redcard.errors import NotFound
from redcard.http.idempotency import run_idempotent
from redcard.membership import refunds, service
from redcard.membership import repository as repo
from redcard.membership.schemas import (
    MemberRefund,
    Membership,
    Order,
    OrderCreate,
    Plan,
    PlanCatalogue,
    PlanCreate,
    PlanUpdate,
    RefundQuote,
    RefundRef,
    Terms,
    TermsCreate,
    TrialCreate,
)
from redcard.models import TermsVersion

router = APIRouter(tags=["membership"])


@router.get("/plans", response_model=PlanCatalogue, dependencies=[Public])
async def list_plans(session: Session) -> PlanCatalogue:
    """Plans on sale; once a sunset is approved, none, and why (`sales_open` false)."""
    return await service.catalogue(session)


@router.get("/terms/{terms_id}", response_model=Terms, dependencies=[Public])
async def get_terms(terms_id: uuid.UUID, session: Session) -> Terms:
    terms = await session.get(TermsVersion, terms_id)
    if terms is None:
        raise NotFound("no such terms version")
    return Terms.model_validate(terms)


@router.post("/operator/terms", status_code=201, response_model=Terms)
async def publish_terms(
    body: TermsCreate, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    """Publish a new version of the membership terms; plans created afterwards cite it and
    orders keep the version they were bought under."""

    async def action() -> Terms:
        return Terms.model_validate(
            await service.publish_terms(session, service.MEMBERSHIP_TERMS, body.title, body.body)
        )

    return await run_idempotent(session, request, f"user:{operator.id}", action, 201)


@router.get("/operator/plans", response_model=list[Plan])
async def list_all_plans(session: Session, _: Operator) -> list[Plan]:
    """All plans, retired ones included."""
    return [Plan.model_validate(p) for p in await repo.list_plans(session, include_retired=True)]


@router.post("/operator/plans", status_code=201, response_model=Plan)
async def create_plan(
    body: PlanCreate, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    async def action() -> Plan:
        return Plan.model_validate(await service.create_plan(session, body))

    return await run_idempotent(session, request, f"user:{operator.id}", action, 201)


@router.patch("/operator/plans/{plan_id}", response_model=Plan)
async def update_plan(
    plan_id: uuid.UUID, body: PlanUpdate, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    """Rename, re-price or retire a plan."""

    async def action() -> Plan:
        return Plan.model_validate(await service.update_plan(session, plan_id, body))

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.post("/orders", status_code=201, response_model=Order)
async def create_order(
    body: OrderCreate, request: Request, session: Session, ctx: Ctx, member: Member
) -> JSONResponse:
    """Buy a plan. Returns the order with the channel's `pay_url`; the card is activated when
    the channel confirms payment."""

    async def action() -> Order:
        bought = await service.purchase(
            session,
            ctx.channels,
            member,
            body.plan_id,
            convert_trial=body.convert_trial,
            base_url=ctx.settings.base_url,
        )
        return Order.model_validate(bought.order).model_copy(
            update={"pay_url": bought.payment.pay_url}
        )

    return await run_idempotent(session, request, f"user:{member.id}", action, 201)


@router.get("/orders", response_model=list[Order])
async def list_orders(session: Session, member: Member) -> list[Order]:
    return [Order.model_validate(o) for o in await repo.list_orders_by_member(session, member.id)]


@router.get("/orders/{order_id}", response_model=Order)
async def get_order(order_id: uuid.UUID, session: Session, member: Member) -> Order:
    return Order.model_validate(await service.get_member_order(session, member, order_id))


@router.post("/orders/{order_id}/refresh", response_model=Order)
async def refresh_order(order_id: uuid.UUID, session: Session, ctx: Ctx, member: Member) -> Order:
    """Ask the channel for the payment's status now (naturally idempotent: no key needed)."""
    return Order.model_validate(
        await service.refresh_order(session, ctx.channels, member, order_id)
    )


@router.get("/memberships", response_model=list[Membership])
async def list_memberships(session: Session, member: Member) -> list[Membership]:
    return [Membership.model_validate(m) for m in await repo.list_by_member(session, member.id)]


@router.get("/memberships/current", response_model=Membership)
async def current_membership(session: Session, member: Member) -> Membership:
    await repo.expire_lapsed(session, member.id)
    card = await repo.get_active_by_member(session, member.id)
    if card is None:
        raise NotFound("you have no active card")
    return Membership.model_validate(card)


@router.post("/trials", status_code=201, response_model=Membership)
async def start_trial(
    body: TrialCreate, request: Request, session: Session, member: Member
) -> JSONResponse:
    """Start the free trial card (once per member)."""

    async def action() -> Membership:
        return Membership.model_validate(await service.start_trial(session, member, body.plan_id))

    return await run_idempotent(session, request, f"user:{member.id}", action, 201)


# -- the card's own refund --------------------------------------------------------------------
@router.get("/refunds", response_model=list[MemberRefund])
async def my_refunds(session: Session, member: Member) -> list[MemberRefund]:
    """Your refunds: amount, status and timeline."""
    return await refunds.member_refunds(session, member)


@router.get("/refunds/quote", response_model=RefundQuote)
async def quote(session: Session, member: Member) -> RefundQuote:
    """What a refund of your card would give back now, before you confirm."""
    ctx = await refunds.quote_self_refund(session, member)
    return RefundQuote.model_validate(ctx.quote)


@router.post("/refunds", status_code=201, response_model=RefundRef)
async def request_refund(request: Request, session: Session, member: Member) -> JSONResponse:
    """Give your card back for the quoted refund: everything within the cooling-off period,
    the plan's refund policy after it."""

    async def action() -> RefundRef:
        return RefundRef.model_validate(await refunds.request_self_refund(session, member))

    return await run_idempotent(session, request, f"user:{member.id}", action, 201)
