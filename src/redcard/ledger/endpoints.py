from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from redcard.deps import Operator, Session
from redcard.ledger import service

router = APIRouter(prefix="/operator/ledger", tags=["ledger"])


class LedgerCheck(BaseModel):
    ok: bool
    entries: int
    accounts: int
    unbalanced_entries: list[str]
    short_entries: list[str]
    drifted_accounts: list[str]
    subledger_differences: list[str]


@router.get("/check", response_model=LedgerCheck)
async def check(session: Session, _: Operator) -> LedgerCheck:
    report = await service.check(session)
    return LedgerCheck(ok=report.ok, **report.__dict__)
