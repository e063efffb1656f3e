"""Settlement API: merchants read their statements (JSON or CSV); operators settle days, pay
statements out and set merchants' fee plans."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from redcard.deps import Operator, Session, allow
from redcard.http.idempotency import run_idempotent
from redcard.http.responses import csv_response
from redcard.models import Role, User
from redcard.settlement import service
from redcard.settlement.schemas import FeePlan, SettleDay, Statement, Statements

router = APIRouter(tags=["settlement"])
Staff = Annotated[User, Depends(allow(Role.merchant_staff))]


@router.get("/merchant/statements", response_model=list[Statement])
async def my_statements(session: Session, staff: Staff) -> list[Statement]:
    listed = await service.statement_list(session, staff)
    return [Statement.model_validate(s) for s in listed.statements]


@router.get("/merchant/statements/{statement_id}", response_model=Statement)
async def my_statement(statement_id: uuid.UUID, session: Session, staff: Staff) -> Statement:
    return Statement.model_validate(await service.visible_statement(session, staff, statement_id))


@router.get("/merchant/statements/{statement_id}/csv")
async def my_statement_csv(statement_id: uuid.UUID, session: Session, staff: Staff) -> Response:
    return csv_response(*await service.statement_file(session, staff, statement_id))


@router.get("/operator/statements", response_model=list[Statement])
async def all_statements(
    session: Session, operator: Operator, day: date | None = None
) -> list[Statement]:
    listed = await service.statement_list(session, operator, day=day)
    return [Statement.model_validate(s) for s in listed.statements]


@router.get("/operator/statements/{statement_id}/csv")
async def statement_csv(statement_id: uuid.UUID, session: Session, operator: Operator) -> Response:
    return csv_response(*await service.statement_file(session, operator, statement_id))


@router.post("/operator/settlements", response_model=list[Statement])
async def settle_day(
    body: SettleDay, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    """Settle a finished business day (a day in the programme's time zone) now; the worker
    does this by itself an hour after that zone's midnight. Idempotent per merchant and day."""

    async def action() -> Statements:
        done = await service.settle_day(session, body.day)
        return Statements([Statement.model_validate(s) for s in done])

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.post("/operator/statements/{statement_id}/payout", response_model=Statement)
async def pay_out(
    statement_id: uuid.UUID, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    """Record that the statement's net payable has been transferred to the merchant."""

    async def action() -> Statement:
        return Statement.model_validate(await service.pay_out(session, operator, statement_id))

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.put("/operator/merchants/{merchant_id}/fee-plan", response_model=FeePlan)
async def set_fee_plan(
    merchant_id: uuid.UUID, body: FeePlan, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    """A merchant's fee plan; applies to statements created from now on."""

    async def action() -> FeePlan:
        merchant = await service.update_fee_plan(
            session, merchant_id, service.FeePlan(**body.model_dump())
        )
        return FeePlan.model_validate(merchant)

    return await run_idempotent(session, request, f"user:{operator.id}", action)
