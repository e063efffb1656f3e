"""Merchant onboarding and store management.

A merchant_staff owner applies with one or more stores; an operator approves (stores go live)
or rejects with a reason (stores closed). The owner can pause / resume a store, leave the
programme (stores closed, no more discounts; pending settlements are not touched here), add
staff per store and issue per-terminal API keys (shown once, stored as SHA-256).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.accounts.service import create_user
from redcard.errors import Conflict, NotFound
from redcard.kit.pagination import Page, contains_pattern, paginate
from redcard.kit.sql import rowcount
from redcard.kit.time import utc_now
from redcard.merchants.schemas import MerchantApply, StaffCreate, StoreCreate
from redcard.models import (
    Merchant,
    MerchantStatus,
    Redemption,
    RedemptionStatus,
    Role,
    Store,
    StoreStaff,
    StoreStatus,
    Terminal,
    User,
)
from redcard.redemption.till import hash_api_key


class AlreadyApplied(Conflict):
    pass


class NotPending(Conflict):
    pass


class MerchantNotFound(NotFound):
    pass


class StoreNotFound(NotFound):
    pass


class NotApproved(Conflict):
    pass


def new_pay_code() -> str:
    return secrets.token_urlsafe(12)


def store_from(merchant_id: uuid.UUID, data: StoreCreate, status: StoreStatus) -> Store:
    return Store(
        merchant_id=merchant_id,
        name=data.name,
        category=data.category,
        district=data.district,
        address=data.address,
        lat=data.lat,
        lng=data.lng,
        opening_hours=data.opening_hours,
        status=status,
        discount_bp=data.discount_bp,
        discount_cap_fen=data.discount_cap_fen,
        min_bill_fen=data.min_bill_fen,
        excluded_categories=", ".join(data.excluded_categories) or None,
        exclusive_to_members=data.exclusive_to_members,
        pay_code=new_pay_code(),
        source="merchant",
    )


async def apply(session: AsyncSession, owner: User, data: MerchantApply) -> Merchant:
    open_application = await session.scalar(
        select(Merchant.id).where(
            Merchant.owner_id == owner.id,
            Merchant.status.in_([MerchantStatus.pending, MerchantStatus.approved]),
        )
    )
    if open_application is not None:
        raise AlreadyApplied("you already have a merchant in the programme or under review")
    merchant = Merchant(
        name=data.name,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        owner_id=owner.id,
        status=MerchantStatus.pending,
    )
    session.add(merchant)
    await session.flush()
    stores = [store_from(merchant.id, s, StoreStatus.pending) for s in data.stores]
    session.add_all(stores)
    await session.flush()
    session.add_all([StoreStaff(user_id=owner.id, store_id=s.id) for s in stores])
    await session.flush()
    return merchant


async def _review(
    session: AsyncSession,
    operator: User,
    merchant_id: uuid.UUID,
    to: MerchantStatus,
    store_status: StoreStatus,
    reason: str | None,
) -> Merchant:
    changed = await session.execute(
        update(Merchant)
        .where(Merchant.id == merchant_id, Merchant.status == MerchantStatus.pending)
        .values(status=to, reviewed_by=operator.id, reviewed_at=utc_now(), rejection_reason=reason)
    )
    if not rowcount(changed):
        found = await session.get(Merchant, merchant_id)
        if found is None:
            raise MerchantNotFound("no such merchant")
        raise NotPending(f"this application was already reviewed ({found.status})")
    await session.execute(
        update(Store)
        .where(Store.merchant_id == merchant_id, Store.status == StoreStatus.pending)
        .values(status=store_status)
    )
    merchant = await session.get_one(Merchant, merchant_id)
    await session.refresh(merchant)
    return merchant


async def approve(session: AsyncSession, operator: User, merchant_id: uuid.UUID) -> Merchant:
    return await _review(
        session, operator, merchant_id, MerchantStatus.approved, StoreStatus.live, None
    )


async def reject(
    session: AsyncSession, operator: User, merchant_id: uuid.UUID, reason: str
) -> Merchant:
    return await _review(
        session, operator, merchant_id, MerchantStatus.rejected, StoreStatus.closed, reason
    )


async def owned_merchant(session: AsyncSession, owner: User) -> Merchant:
    merchant = await session.scalar(
        select(Merchant)
        .where(Merchant.owner_id == owner.id)
        .order_by(Merchant.created_at.desc())
        .limit(1)
    )
    if merchant is None:
        raise MerchantNotFound("you have not applied as a merchant")
    return merchant


async def stores_of(session: AsyncSession, merchant_id: uuid.UUID) -> Sequence[Store]:
    return (
        await session.scalars(
            select(Store).where(Store.merchant_id == merchant_id).order_by(Store.name, Store.id)
        )
    ).all()


async def uses_by_store(
    session: AsyncSession, store_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Committed card uses (till and 买单) per store, counted from the redemptions: no counter
    row for every redemption at a busy store to queue on."""
    rows = await session.execute(
        select(Redemption.store_id, func.count())
        .where(
            Redemption.store_id.in_(store_ids),
            Redemption.status == RedemptionStatus.committed,
        )
        .group_by(Redemption.store_id)
    )
    return {store_id: int(n) for store_id, n in rows}


async def stores_by_merchant(
    session: AsyncSession, merchant_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Store]]:
    """Stores of several merchants in one query."""
    out: dict[uuid.UUID, list[Store]] = {m: [] for m in merchant_ids}
    if merchant_ids:
        rows = await session.scalars(
            select(Store).where(Store.merchant_id.in_(merchant_ids)).order_by(Store.name, Store.id)
        )
        for store in rows:
            out[store.merchant_id].append(store)
    return out


async def _owned_store(session: AsyncSession, owner: User, store_id: uuid.UUID) -> Store:
    store = await session.scalar(
        select(Store)
        .join(Merchant, Merchant.id == Store.merchant_id)
        .where(Store.id == store_id, Merchant.owner_id == owner.id)
    )
    if store is None:
        raise StoreNotFound("no such store among yours")
    return store


async def set_paused(
    session: AsyncSession, owner: User, store_id: uuid.UUID, paused: bool
) -> Store:
    """Pause (no discount for now) or resume a live store of an approved merchant."""
    store = await _owned_store(session, owner, store_id)
    frm, to = (
        (StoreStatus.live, StoreStatus.paused) if paused else (StoreStatus.paused, StoreStatus.live)
    )
    changed = await session.execute(
        update(Store)
        .where(
            Store.id == store.id,
            Store.status == frm,
            Store.merchant_id.in_(
                select(Merchant.id).where(Merchant.status == MerchantStatus.approved)
            ),
        )
        .values(status=to)
    )
    if not rowcount(changed):
        await session.refresh(store)
        if store.status == to:
            return store
        raise NotApproved(f"this store is {store.status}; only live stores can pause and resume")
    await session.refresh(store)
    return store


async def leave(session: AsyncSession, owner: User) -> Merchant:
    """Leave the programme: every store closes and the discount stops at once. Settlement of
    what was already sold is not touched."""
    merchant = await owned_merchant(session, owner)
    changed = await session.execute(
        update(Merchant)
        .where(
            Merchant.id == merchant.id,
            Merchant.status.in_([MerchantStatus.approved, MerchantStatus.pending]),
        )
        .values(status=MerchantStatus.left)
    )
    if not rowcount(changed):
        raise Conflict(f"your merchant is {merchant.status}")
    await session.execute(
        update(Store).where(Store.merchant_id == merchant.id).values(status=StoreStatus.closed)
    )
    await session.refresh(merchant)
    return merchant


async def add_staff(
    session: AsyncSession, owner: User, store_id: uuid.UUID, data: StaffCreate
) -> User:
    store = await _owned_store(session, owner, store_id)
    user = await create_user(
        session,
        phone=data.phone,
        password=data.password,
        display_name=data.display_name,
        role=Role.merchant_staff,
    )
    session.add(StoreStaff(user_id=user.id, store_id=store.id))
    await session.flush()
    return user


async def create_terminal(
    session: AsyncSession, owner: User, store_id: uuid.UUID, name: str
) -> tuple[Terminal, str]:
    """A POS terminal and its API key. The key is returned once; only its hash is kept."""
    store = await _owned_store(session, owner, store_id)
    api_key = "rct_" + secrets.token_urlsafe(32)
    terminal = Terminal(store_id=store.id, name=name, api_key_hash=hash_api_key(api_key))
    session.add(terminal)
    await session.flush()
    return terminal, api_key


async def revoke_terminal(session: AsyncSession, owner: User, terminal_id: uuid.UUID) -> None:
    terminal = await session.get(Terminal, terminal_id)
    if terminal is None:
        raise NotFound("no such terminal")
    await _owned_store(session, owner, terminal.store_id)
    terminal.revoked_at = terminal.revoked_at or utc_now()
    await session.flush()


async def list_by_status(
    session: AsyncSession, status: MerchantStatus | None
) -> Sequence[Merchant]:
    stmt = select(Merchant).order_by(Merchant.created_at.desc()).limit(200)
    if status is not None:
        stmt = stmt.where(Merchant.status == status)
    return (await session.scalars(stmt)).all()


async def search(
    session: AsyncSession, term: str, *, pending: bool, page: int, size: int
) -> Page[Merchant]:
    """One page of the pending applications (oldest first: first come, first reviewed) or of
    the reviewed merchants (newest first) whose name, contact or contact phone contains
    `term` (any case), with the total that match."""
    stmt = select(Merchant)
    if pending:
        stmt = stmt.where(Merchant.status == MerchantStatus.pending)
        stmt = stmt.order_by(Merchant.created_at, Merchant.id)
    else:
        stmt = stmt.where(Merchant.status != MerchantStatus.pending)
        stmt = stmt.order_by(Merchant.created_at.desc(), Merchant.id)
    if term := term.strip():
        pattern = contains_pattern(term)
        stmt = stmt.where(
            or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (Merchant.name, Merchant.contact_name, Merchant.contact_phone)
                )
            )
        )
    return await paginate(session, stmt, page, size)
