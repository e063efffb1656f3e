"""Merchant pages: apply to join, the owner's dashboard (stores, staff, terminals), the POS
page for staff on a phone, and the operator's review of applications."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from redcard.accounts import service as accounts
from redcard.deps import Ctx, CurrentUser, Session
from redcard.discovery import hours
from redcard.errors import AppError, NotFound
from redcard.kit.ids import new_token
from redcard.kit.money import MoneyError, parse_percent_bp, parse_yuan
from redcard.kit.pagination import page_number
from redcard.merchants import access
from redcard.merchants import service as merchants
from redcard.merchants.schemas import MerchantApply, StaffCreate, StoreCreate
from redcard.models import Role, User
from redcard.web.common import error_text, require, web_login, with_session_cookie
from redcard.web.forms import submit_once
from redcard.web.merchant.stores import router as store_pages
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(include_in_schema=False)
# first, so /merchant/stores/{id}/edit and /photos are not taken for a `store_action` below
router.include_router(store_pages)
StaffPage = Annotated[User, require(Role.merchant_staff)]
OperatorPage = Annotated[User, require(Role.operator)]


class TerminalShown(BaseModel):
    terminal_id: uuid.UUID


def _opt_yuan(value: Any) -> int | None:
    text = str(value or "").strip()
    return parse_yuan(text) if text else None


def _store_from_form(form: dict[str, Any]) -> StoreCreate:
    discount_bp = parse_percent_bp(str(form.get("discount_percent", "")))
    excluded = [c.strip() for c in str(form.get("excluded", "")).replace("，", ",").split(",")]
    return StoreCreate.model_validate(
        {
            "name": form.get("store_name", ""),
            "category": form.get("category", ""),
            "district": form.get("district") or None,
            "address": form.get("address") or None,
            "lat": form.get("lat", ""),
            "lng": form.get("lng", ""),
            "opening_hours": form.get("opening_hours") or None,
            "discount_bp": discount_bp,
            "discount_cap_fen": _opt_yuan(form.get("cap_yuan")),
            "min_bill_fen": _opt_yuan(form.get("min_bill_yuan")) or 0,
            "excluded_categories": [c for c in excluded if c],
            "exclusive_to_members": form.get("exclusive") == "yes",
        }
    )


@router.get("/merchant/apply", response_class=HTMLResponse)
async def apply_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "merchant/apply.html", form={})


@router.post("/merchant/apply")
async def apply_submit(request: Request, session: Session, ctx: Ctx, user: CurrentUser) -> Response:
    form = await check_csrf(request)
    token = None
    try:
        async with session.begin_nested():
            if user is None:
                phone, password = str(form.get("phone", "")), str(form.get("password", ""))
                user = await accounts.create_user(
                    session,
                    phone=phone,
                    password=password,
                    display_name=str(form.get("display_name", "")),
                    role=Role.merchant_staff,
                )
                token = (await web_login(request, session, ctx, phone, password)).token
            elif user.role != Role.merchant_staff:
                raise AppError("Log out first: merchants apply with a merchant account.", 403)
            data = MerchantApply(
                name=str(form.get("business_name", "")),
                contact_name=str(form.get("contact_name", "")),
                contact_phone=str(form.get("contact_phone", "")),
                stores=[_store_from_form(form)],
            )
            await merchants.apply(session, user, data)
    except (AppError, ValidationError, MoneyError, ValueError) as exc:
        code = exc.status_code if isinstance(exc, AppError) else 422
        return render(request, "merchant/apply.html", code, error=error_text(exc), form=form)
    response = redirect("/merchant")
    return with_session_cookie(response, ctx, token) if token else response


async def _dashboard(
    request: Request, session: Session, owner: User, status_code: int = 200, **extra: Any
) -> Response:
    merchant = await merchants.owned_merchant(session, owner)
    stores = await merchants.stores_of(session, merchant.id)
    return render(
        request,
        "merchant/dashboard.html",
        status_code=status_code,
        merchant=merchant,
        stores=stores,
        uses=await merchants.uses_by_store(session, [s.id for s in stores]),
        hours_summary=hours.summary,
        idempotency_key=new_token(16),
        **extra,
    )


@router.get("/merchant", response_class=HTMLResponse)
async def merchant_home(request: Request, session: Session, user: StaffPage) -> Response:
    try:
        return await _dashboard(request, session, user)
    except NotFound:
        if await access.stores_for(session, user):
            return redirect("/merchant/pos")
        return redirect("/merchant/apply")


@router.post("/merchant/stores/{store_id}/{action}")
async def store_action(
    store_id: uuid.UUID, action: str, request: Request, session: Session, owner: StaffPage
) -> Response:
    form = await check_csrf(request)
    shown: dict[str, Any] = {}
    try:
        async with session.begin_nested():
            if action in ("pause", "resume"):
                await merchants.set_paused(session, owner, store_id, action == "pause")
            elif action == "staff":
                await merchants.add_staff(
                    session,
                    owner,
                    store_id,
                    StaffCreate(
                        phone=str(form.get("phone", "")),
                        display_name=str(form.get("display_name", "")),
                        password=str(form.get("password", "")),
                    ),
                )
            elif action == "terminals":
                keys: dict[str, str] = {}

                async def create() -> TerminalShown:
                    terminal, api_key = await merchants.create_terminal(
                        session, owner, store_id, str(form.get("name", "")).strip() or "POS"
                    )
                    keys["api_key"] = api_key
                    return TerminalShown(terminal_id=terminal.id)  # the key itself is never stored

                outcome = await submit_once(session, owner, form, f"terminal:{store_id}", create)
                shown = {"new_key": keys.get("api_key"), "key_replayed": outcome.replayed}
            else:
                raise NotFound("no such action")
    except (AppError, ValidationError) as exc:
        code = exc.status_code if isinstance(exc, AppError) else 422
        return await _dashboard(request, session, owner, code, error=error_text(exc))
    if shown:
        return await _dashboard(request, session, owner, **shown)
    return redirect("/merchant")


@router.post("/merchant/leave")
async def leave_submit(request: Request, session: Session, owner: StaffPage) -> Response:
    form = await check_csrf(request)
    if form.get("confirm") != "yes":
        return await _dashboard(
            request, session, owner, 422, error="Tick the box to confirm leaving the programme."
        )
    await merchants.leave(session, owner)
    return redirect("/merchant")


@router.get("/merchant/pos", response_class=HTMLResponse)
async def pos_page(request: Request, session: Session, user: StaffPage) -> Response:
    stores = await access.stores_for(session, user)
    return render(request, "merchant/pos.html", stores=stores)


@router.get("/operator/merchants", response_class=HTMLResponse)
async def review_page(request: Request, session: Session, _: OperatorPage) -> Response:
    return await _review(request, session)


REVIEW_PAGE_SIZE = 20


async def _review(
    request: Request, session: Session, status_code: int = 200, **extra: Any
) -> Response:
    """Applications waiting (the oldest first) and the merchants already reviewed, both
    searched by ?q= (name, contact, phone) and counted; the reviewed ones paged by ?page=."""
    term = request.query_params.get("q", "")[:100]
    number = page_number(request.query_params.get("page"))
    pending = await merchants.search(session, term, pending=True, page=1, size=REVIEW_PAGE_SIZE)
    reviewed = await merchants.search(
        session, term, pending=False, page=number, size=REVIEW_PAGE_SIZE
    )
    stores = await merchants.stores_by_merchant(session, [m.id for m in pending.items])
    return render(
        request,
        "operator/merchants.html",
        status_code=status_code,
        q=term.strip(),
        pending=pending,
        reviewed=reviewed,
        stores=stores,
        **extra,
    )


@router.post("/operator/merchants/{merchant_id}/{decision}")
async def review_submit(
    merchant_id: uuid.UUID,
    decision: str,
    request: Request,
    session: Session,
    operator: OperatorPage,
) -> Response:
    form = await check_csrf(request)
    try:
        async with session.begin_nested():
            if decision == "approve":
                await merchants.approve(session, operator, merchant_id)
            elif decision == "reject":
                reason = str(form.get("reason", "")).strip()
                if not reason:
                    raise AppError("Give the merchant a reason for the rejection.", 422)
                await merchants.reject(session, operator, merchant_id, reason[:500])
            else:
                raise NotFound("no such decision")
    except AppError as exc:
        return await _review(request, session, exc.status_code, error=exc.message)
    return redirect("/operator/merchants")
