"""Purchases to review: through the till's API (the real path), or as bare committed rows when
a test needs many of them at set times."""

from __future__ import annotations

from datetime import date, datetime

import httpx
from sqlalchemy import select

from redcard.curation.inspections import CHECKLIST_KEYS
from redcard.curation.schemas import InspectionCreate
from redcard.db import Database
from redcard.kit.time import utc_now
from redcard.models import Membership, Redemption, RedemptionKind, RedemptionStatus, Store, User
from tests.fixtures.factories import code_for, idem, till


async def till_purchase(
    client: httpx.AsyncClient, db: Database, shop, member: User, *, commit: bool = True
) -> dict:
    """A code redemption at the shop's terminal: prepared, and committed unless told not."""
    code = await code_for(db, member)
    preview = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": code, "bill_yuan": "88.00"},
        headers=till(shop),
    )
    assert preview.status_code == 201, preview.text
    body = preview.json()
    if commit:
        done = await client.post(
            f"/api/v1/redemptions/{body['id']}/commit", headers=till(shop) | idem()
        )
        assert done.status_code == 200, done.text
        body = done.json()
    return body


async def purchase(
    db: Database,
    store: Store,
    member: User,
    *,
    at: datetime | None = None,
    status: RedemptionStatus = RedemptionStatus.committed,
) -> Redemption:
    """A bare redemption row of `member` at `store` (the member holds a card)."""
    at = at or utc_now()
    async with db.session_scope() as session:
        card = await session.scalar(select(Membership).where(Membership.member_id == member.id))
        assert card is not None, "give the member a card first"
        row = Redemption(
            kind=RedemptionKind.code,
            status=status,
            store_id=store.id,
            merchant_id=store.merchant_id,
            member_id=member.id,
            membership_id=card.id,
            bill_fen=10000,
            discount_fen=1000,
            charged_fen=9000,
            prepared_at=at,
            committed_at=at if status == RedemptionStatus.committed else None,
        )
        session.add(row)
        await session.flush()
        return row


def inspection(
    on: date, *, passed: bool = True, fail: tuple[str, ...] = (), inspector: str = "王检查"
) -> InspectionCreate:
    return InspectionCreate(
        inspected_on=on,
        inspector=inspector,
        checklist={key: key not in fail for key in CHECKLIST_KEYS},
        passed=passed,
        notes="",
    )


def inspection_json(on: date, **kwargs) -> dict:
    return inspection(on, **kwargs).model_dump(mode="json")
