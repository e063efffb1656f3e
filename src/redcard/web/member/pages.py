"""Member pages: sign-up, plans and terms, buying, the card."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from redcard.accounts import service as accounts
from redcard.companions import repository as companion_repo
from redcard.deps import Ctx, CurrentUser, Session
from redcard.errors import AppError, NotFound
from redcard.kit import time as clock
from redcard.kit.ids import new_token
from redcard.membership import program
from redcard.membership import repository as repo
from redcard.membership import service as membership
from redcard.models import PlanKind, Role, TermsVersion, User
from redcard.web.common import require, web_login, with_session_cookie
from redcard.web.forms import submit_once
from redcard.web.member import companion as companion_pages
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(include_in_schema=False)


class PayLink(BaseModel):
    pay_url: str


MemberPage = Annotated[User, require(Role.member)]


@router.get("/signup", response_class=HTMLResponse)
async def signup_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "member/signup.html")


@router.post("/signup")
async def signup_submit(
    request: Request,
    session: Session,
    ctx: Ctx,
    phone: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=128)],
    display_name: Annotated[str, Form(max_length=64)],
) -> Response:
    await check_csrf(request)
    try:
        async with session.begin_nested():
            await accounts.create_user(
                session, phone=phone, password=password, display_name=display_name, role=Role.member
            )
            result = await web_login(request, session, ctx, phone, password)
    except AppError as exc:
        return render(
            request,
            "member/signup.html",
            status_code=exc.status_code,
            error=exc.message,
            phone=phone,
            display_name=display_name,
        )
    # greeted, and on to the card: the annual card's buy page, else the plans
    plan = await membership.featured_plan(session)
    target = f"/buy/{plan.id}?welcome=1" if plan else "/plans?welcome=1"
    if await companion_repo.pending_for_phone(session, result.user.phone):
        target = "/card/companion"  # invited as a household companion: accept first
    return with_session_cookie(redirect(target), ctx, result.token)


@router.get("/plans", response_class=HTMLResponse)
async def plans_page(request: Request, session: Session, user: CurrentUser) -> Response:
    on_sale = await membership.catalogue(session)
    card = await repo.get_active_by_member(session, user.id) if user else None
    cutoff = clock.local_time(on_sale.cutoff_at)  # with its zone ("… UTC+8")
    welcome = user is not None and request.query_params.get("welcome") == "1"
    return render(
        request, "member/plans.html", on_sale=on_sale, card=card, cutoff=cutoff, welcome=welcome
    )


@router.get("/terms/{terms_id}", response_class=HTMLResponse)
async def terms_page(
    terms_id: uuid.UUID, request: Request, session: Session, user: CurrentUser
) -> Response:
    terms = await session.get(TermsVersion, terms_id)
    if terms is None:
        raise NotFound("no such terms version")
    return render(request, "member/terms.html", terms=terms)


@router.get("/buy/{plan_id}", response_class=HTMLResponse)
async def buy_page(
    plan_id: uuid.UUID, request: Request, session: Session, member: MemberPage
) -> Response:
    if not (await program.sales(session)).open:
        return redirect("/plans")  # which says why
    welcome = request.query_params.get("welcome") == "1"
    plan = await membership.get_plan(session, plan_id)
    terms = await session.get_one(TermsVersion, plan.terms_version_id)
    card = await repo.get_active_by_member(session, member.id)
    return render(
        request,
        "member/buy.html",
        plan=plan,
        terms=terms,
        card=card,
        welcome=welcome,
        idempotency_key=new_token(16),
    )


@router.post("/buy/{plan_id}")
async def buy_submit(
    plan_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, member: MemberPage
) -> Response:
    form = await check_csrf(request)
    plan = await membership.get_plan(session, plan_id)
    try:
        async with session.begin_nested():
            if form.get("agree") != "yes":
                raise AppError("Please read and accept the terms first.", 422)
            if plan.kind == PlanKind.trial:
                await membership.start_trial(session, member, plan.id)
                return redirect("/card")
            convert = form.get("convert_trial") == "yes"

            async def action() -> PayLink:
                bought = await membership.purchase(
                    session,
                    ctx.channels,
                    member,
                    plan.id,
                    convert_trial=convert,
                    base_url=ctx.settings.base_url,
                )
                assert bought.payment.pay_url is not None
                return PayLink(pay_url=bought.payment.pay_url)

            outcome = await submit_once(session, member, form, f"buy:{plan.id}:{convert}", action)
    except AppError as exc:
        terms = await session.get_one(TermsVersion, plan.terms_version_id)
        card = await repo.get_active_by_member(session, member.id)
        return render(
            request,
            "member/buy.html",
            status_code=exc.status_code,
            plan=plan,
            terms=terms,
            card=card,
            error=exc.message,
            idempotency_key=new_token(16),
        )
    return redirect(outcome.body["pay_url"])


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(
    order_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, member: MemberPage
) -> Response:
    """Where the cashier sends the member back: ask the channel, then show the outcome."""
    order = await membership.refresh_order(session, ctx.channels, member, order_id)
    if order.status == "paid":
        return redirect("/card")
    return render(request, "member/order.html", order=order)


@router.get("/card", response_class=HTMLResponse)
async def card_page(request: Request, session: Session, member: MemberPage) -> Response:
    await repo.expire_lapsed(session, member.id)
    card = await repo.get_active_by_member(session, member.id)
    plan = await membership.get_plan(session, card.plan_id) if card else None
    history = await repo.list_by_member(session, member.id)
    companion = await companion_pages.card_block(session, member)  # the companion card
    return render(
        request, "member/card.html", card=card, plan=plan, history=history, companion=companion
    )
