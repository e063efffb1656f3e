"""Which stores a user may act on: the one rule every capability asks (events, 买单 bills,
statements, the till, the merchant pages).

- An operator: every store (`store_ids_for` answers None, "no limit").
- A merchant_staff user: the stores they are staff of (`store_staff`), and every store of a
  merchant they own (`merchants.owner_id`), staff row or not.
- Anyone else (a member): none.

What a role may do at those stores (only staff and terminals work a till, only operators undo
a settled bill, ...) is each capability's own rule; this module only says where.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CompoundSelect, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.models import Merchant, Role, Store, StoreStaff, User


def store_ids_query(user_id: Any) -> CompoundSelect:
    """The rule for a merchant_staff user as SQL: the ids of the stores they may act on (a
    store may come twice). `user_id` is a value or a bind parameter, so hot statements embed
    it as a subquery (`store_id IN (...)`) instead of reading the ids first. Both halves are
    index lookups (staff by user, merchants by owner, stores by merchant)."""
    staffed = select(StoreStaff.store_id).where(StoreStaff.user_id == user_id)
    owned = (
        select(Store.id)
        .join(Merchant, Merchant.id == Store.merchant_id)
        .where(Merchant.owner_id == user_id)
    )
    return union_all(staffed, owned)


async def store_ids_for(session: AsyncSession, user: User) -> list[uuid.UUID] | None:
    """The stores `user` may act on, by name; None for an operator (every store)."""
    if user.role == Role.operator:
        return None
    return [store.id for store in await stores_for(session, user)]


async def stores_for(session: AsyncSession, user: User) -> Sequence[Store]:
    """The stores a merchant user may act on, by name (empty for anyone else: an operator's
    "every store" is not a list to load)."""
    if user.role != Role.merchant_staff:
        return []
    stmt = select(Store).where(Store.id.in_(store_ids_query(user.id)))
    return (await session.scalars(stmt.order_by(Store.name, Store.id))).all()


async def may_act_at(session: AsyncSession, user: User, store_id: uuid.UUID) -> bool:
    """Whether `user` may act on this store (one indexed lookup, not the whole list)."""
    if user.role == Role.operator:
        return True
    if user.role != Role.merchant_staff:
        return False
    found = await session.scalar(
        select(Store.id).where(Store.id == store_id, Store.id.in_(store_ids_query(user.id)))
    )
    return found is not None


async def merchant_ids_for(session: AsyncSession, user: User) -> list[uuid.UUID] | None:
    """The merchants of the stores `user` may act on (whose statements they read); None for
    an operator (every merchant)."""
    if user.role == Role.operator:
        return None
    if user.role != Role.merchant_staff:
        return []
    stmt = select(Store.merchant_id).where(Store.id.in_(store_ids_query(user.id))).distinct()
    return sorted(await session.scalars(stmt))
