"""Test data for 买单 and settlement: a merchant with live stores and staff, card holders,
and paying a bill through the API and the sandbox channel."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select

from redcard.db import Database
from redcard.models import (
    Merchant,
    MerchantStatus,
    Redemption,
    Role,
    Store,
    StoreStaff,
    StoreStatus,
    User,
)
from redcard.payments.sandbox import SandboxChannel
from tests.fixtures.factories import create_member, idem
from tests.redemption.factories import new_card_holder as new_card_holder  # trial card


@dataclass
class Shop:
    merchant: Merchant
    owner: User
    stores: list[Store] = field(default_factory=list)
    staff: list[User] = field(default_factory=list)  # staff[i] works at stores[i]

    @property
    def store(self) -> Store:
        return self.stores[0]


async def new_shop(
    db: Database,
    *,
    name: str = "小杨生煎",
    stores: int = 1,
    discount_bp: int = 1000,
    cap_fen: int | None = None,
    min_bill_fen: int = 0,
    excluded_categories: str | None = None,
    status: StoreStatus = StoreStatus.live,
    **fee_plan: int,
) -> Shop:
    async with db.session_scope() as session:
        owner = await create_member(session, name="老板", role=Role.merchant_staff)
        merchant = Merchant(
            name=name,
            contact_name="老板",
            contact_phone=owner.phone,
            owner_id=owner.id,
            status=MerchantStatus.approved,
            **fee_plan,
        )
        session.add(merchant)
        await session.flush()
        shop = Shop(merchant, owner)
        for i in range(stores):
            store = Store(
                merchant_id=merchant.id,
                name=f"{name}（{i + 1}号店）",
                category="food",
                district="静安区",
                address=f"南京西路 {i + 1} 号",
                lat=31.23,
                lng=121.47,
                status=status,
                discount_bp=discount_bp,
                discount_cap_fen=cap_fen,
                min_bill_fen=min_bill_fen,
                excluded_categories=excluded_categories,
                pay_code=secrets.token_urlsafe(12),
            )
            session.add(store)
            await session.flush()
            staff = await create_member(session, name=f"店员{i + 1}", role=Role.merchant_staff)
            session.add(StoreStaff(user_id=staff.id, store_id=store.id))
            shop.stores.append(store)
            shop.staff.append(staff)
        await session.flush()
        return shop


def out_trade_no(pay_url: str) -> str:
    return pay_url.split("/sandbox/pay/")[1].split("?")[0]


async def start_bill(
    client: httpx.AsyncClient, headers: dict[str, str], pay_code: str, bill: str
) -> dict[str, object]:
    response = await client.post(
        f"/api/v1/pay/{pay_code}/bills", json={"bill": bill}, headers=headers | idem()
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def pay_bill(
    client: httpx.AsyncClient,
    sandbox: SandboxChannel,
    headers: dict[str, str],
    pay_code: str,
    bill: str = "100.00",
) -> dict[str, object]:
    """Start a bill, pay at the sandbox, deliver the signed notification."""
    created = await start_bill(client, headers, pay_code, bill)
    await sandbox.pay(out_trade_no(str(created["pay_url"])))
    await sandbox.flush_notifications()
    return created


async def get_redemption(db: Database, redemption_id: object) -> Redemption:
    async with db.session_scope() as session:
        found = await session.scalar(
            select(Redemption).where(Redemption.id == uuid.UUID(str(redemption_id)))
        )
        assert found is not None
        return found
