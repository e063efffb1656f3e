"""Test data for merchants, stores, tills and member codes."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from redcard.db import Database
from redcard.kit.time import utc_now
from redcard.membership import service as membership
from redcard.models import (
    Membership,
    MembershipStatus,
    Merchant,
    MerchantStatus,
    PlanKind,
    Role,
    Store,
    StoreStaff,
    StoreStatus,
    Terminal,
    User,
)
from redcard.redemption import codes
from redcard.redemption.member import get_or_create_code
from redcard.redemption.till import hash_api_key
from tests.fixtures.factories import create_member, seed_plans

KEY = codes.code_key("test-secret")


@dataclass
class Shop:
    merchant: Merchant
    store: Store
    staff: User
    terminal_key: str
    terminal_id: uuid.UUID


async def new_shop(
    db: Database,
    *,
    name: str = "小杨生煎",
    discount_bp: int = 1000,
    cap_fen: int | None = None,
    min_bill_fen: int = 0,
    excluded_categories: str | None = None,
    status: StoreStatus = StoreStatus.live,
) -> Shop:
    async with db.session_scope() as session:
        owner = await create_member(session, name="店长", role=Role.merchant_staff)
        merchant = Merchant(
            name=name,
            contact_name="店长",
            contact_phone=owner.phone,
            owner_id=owner.id,
            status=MerchantStatus.approved,
        )
        session.add(merchant)
        await session.flush()
        store = Store(
            merchant_id=merchant.id,
            name=f"{name}（南京西路店）",
            category="food",
            district="静安区",
            address="南京西路 1 号",
            lat=31.23,
            lng=121.47,
            status=status,
            discount_bp=discount_bp,
            discount_cap_fen=cap_fen,
            min_bill_fen=min_bill_fen,
            excluded_categories=excluded_categories,
            pay_code=secrets.token_hex(8),
        )
        session.add(store)
        await session.flush()
        session.add(StoreStaff(user_id=owner.id, store_id=store.id))
        key = "term_" + secrets.token_urlsafe(24)
        terminal = Terminal(store_id=store.id, name="till 1", api_key_hash=hash_api_key(key))
        session.add(terminal)
        await session.flush()
        return Shop(merchant, store, owner, key, terminal.id)


async def new_card_holder(db: Database, name: str = "小红", trial: bool = True) -> User:
    """A member with a usable card: a trial, or (trial=False) an active annual card."""
    async with db.session_scope() as session:
        plans = await seed_plans(session)
        member = await create_member(session, name=name)
        if trial:
            await membership.start_trial(session, member, plans.trial.id)
        else:
            now = utc_now()
            session.add(
                Membership(
                    member_id=member.id,
                    plan_id=plans.annual.id,
                    kind=PlanKind.paid,
                    status=MembershipStatus.active,
                    starts_at=now - timedelta(days=1),
                    ends_at=now + timedelta(days=364),
                )
            )
            await session.flush()
        return member


async def code_for(db: Database, member: User, step_offset: int = 0) -> str:
    async with db.session_scope() as session:
        row = await get_or_create_code(session, member.id)
    step = codes.step_at(utc_now().timestamp()) + step_offset
    return codes.member_code(row.handle, row.secret, KEY, step)


def till(shop: Shop) -> dict[str, str]:
    return {"X-Terminal-Key": shop.terminal_key}
