"""持卡买单 API. The discounted amount is always computed by the server."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from redcard.deps import Ctx, Member, Session, allow
from redcard.http.idempotency import run_idempotent
from redcard.models import Role, User
from redcard.storepay import service
from redcard.storepay.schemas import (
    BillInput,
    BillPreview,
    StaffBill,
    StoreBill,
    StoreBillCreated,
    StorePayPage,
)

router = APIRouter(tags=["storepay"])
Staff = Annotated[User, Depends(allow(Role.merchant_staff))]
StaffOrOperator = Annotated[User, Depends(allow(Role.merchant_staff, Role.operator))]


@router.get("/pay/{pay_code}", response_model=StorePayPage)
async def store_for_pay_code(pay_code: str, session: Session, member: Member) -> StorePayPage:
    """The store behind a scanned pay code and its card holders' terms."""
    store = await service.open_store(session, pay_code)
    return StorePayPage(
        store_id=store.id,
        store_name=store.name,
        discount_bp=store.discount_bp,
        discount_cap_fen=store.discount_cap_fen,
        min_bill_fen=store.min_bill_fen,
        excluded_categories=store.excluded_categories,
    )


@router.post("/pay/{pay_code}/preview", response_model=BillPreview)
async def preview_bill(
    pay_code: str, body: BillInput, session: Session, member: Member
) -> BillPreview:
    """What the member would pay for this bill (changes nothing)."""
    quote = await service.preview(
        session,
        member,
        pay_code,
        service.parse_bill(body.bill),
        service.parse_excluded(body.excluded),
    )
    return BillPreview(
        store_id=quote.store.id,
        store_name=quote.store.name,
        bill_fen=quote.bill_fen,
        excluded_fen=quote.excluded_fen,
        discount_fen=quote.discount_fen,
        charged_fen=quote.charged_fen,
    )


@router.post("/pay/{pay_code}/bills", status_code=201, response_model=StoreBillCreated)
async def create_bill(
    pay_code: str, body: BillInput, request: Request, session: Session, ctx: Ctx, member: Member
) -> JSONResponse:
    """Start paying a bill: returns the channel's `pay_url`. The bill shows at the store once
    the channel confirms the payment."""
    bill_fen = service.parse_bill(body.bill)
    excluded_fen = service.parse_excluded(body.excluded)

    async def action() -> StoreBillCreated:
        bill = await service.create_bill(
            session,
            ctx.channels,
            member,
            pay_code,
            bill_fen,
            excluded_fen,
            base_url=ctx.settings.base_url,
        )
        assert bill.payment.pay_url is not None
        return StoreBillCreated.model_validate(
            {
                **StoreBill.model_validate(bill.redemption).model_dump(),
                "pay_url": bill.payment.pay_url,
            }
        )

    return await run_idempotent(session, request, f"user:{member.id}", action, 201)


@router.get("/store-bills/{order_id}", response_model=StoreBill)
async def get_my_bill(order_id: uuid.UUID, session: Session, member: Member) -> StoreBill:
    return StoreBill.model_validate(await service.member_bill(session, member, order_id))


@router.post("/store-bills/{order_id}/refresh", response_model=StoreBill)
async def refresh_my_bill(
    order_id: uuid.UUID, session: Session, ctx: Ctx, member: Member
) -> StoreBill:
    """Ask the channel for the payment's status now (naturally idempotent)."""
    return StoreBill.model_validate(
        await service.refresh_member_bill(session, ctx.channels, member, order_id)
    )


@router.get("/merchant/bills", response_model=list[StaffBill])
async def list_store_bills(session: Session, staff: Staff) -> list[StaffBill]:
    """Paid bills at the stores this user may act on (staff of, or owner of their merchant),
    newest first."""
    rows = await service.bills_for(session, staff)
    return [
        StaffBill.model_validate(
            {
                **StoreBill.model_validate(row.redemption).model_dump(),
                "store_name": row.store_name,
                "member": row.member_masked,
            }
        )
        for row in rows
    ]


@router.post("/store-bills/by-id/{redemption_id}/undo", response_model=StoreBill)
async def undo_bill(
    redemption_id: uuid.UUID, request: Request, session: Session, actor: StaffOrOperator
) -> JSONResponse:
    """Undo a paid bill: the member is refunded in full. Staff: within 1 hour and before
    settlement. Operator: any time; a settled bill is clawed back on the next statement."""

    async def action() -> StoreBill:
        return StoreBill.model_validate(await service.undo_bill(session, actor, redemption_id))

    return await run_idempotent(session, request, f"user:{actor.id}", action)
