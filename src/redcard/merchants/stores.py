"""What an owner tells members about a store: its opening hours (OpenStreetMap syntax, see
`discovery/hours.py`), the time zone they are read in, and a description. Photos are
`photos.py`.

Who may do what: the merchant's owner edits its stores; the staff of a store may look at its
page but not change it; anyone else is told there is no such store (404), so a store id does
not say whose it is. Everything is checked before anything is written: a refused edit
changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.discovery import hours
from redcard.errors import InvalidInput
from redcard.merchants import access
from redcard.merchants.schemas import StoreEdit
from redcard.merchants.service import StoreNotFound
from redcard.models import Merchant, Role, Store, User

DESCRIPTION_MAX = 1000
UNKNOWN_ZONE = "choose a time zone from the list (an IANA name such as Asia/Shanghai)"
HOURS_TWICE = "send the hours either as opening_hours text or as a week, not both"
TOO_LONG = "the description is longer than 1000 characters"


@dataclass(frozen=True, slots=True)
class StoreSeen:
    store: Store
    may_edit: bool  # the owner; staff of the store only look


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """The IANA zones a store may pick, sorted (the zoneinfo database's own list)."""
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


def zone_name(value: str | None) -> str | None:
    """A store's zone as stored: None (the programme's) for empty, else a known IANA name."""
    value = (value or "").strip()
    if not value:
        return None
    if value not in zone_names():
        raise InvalidInput(UNKNOWN_ZONE)
    return value


async def owned_store(
    session: AsyncSession, owner: User, store_id: uuid.UUID, *, lock: bool = False
) -> Store:
    """A store of a merchant `owner` owns (locked for update when asked); 404 otherwise."""
    stmt = (
        select(Store)
        .join(Merchant, Merchant.id == Store.merchant_id)
        .where(Store.id == store_id, Merchant.owner_id == owner.id)
    )
    store = await session.scalar(stmt.with_for_update(of=Store) if lock else stmt)
    if store is None:
        raise StoreNotFound("no such store among yours")
    return store


async def seen_store(session: AsyncSession, user: User, store_id: uuid.UUID) -> StoreSeen:
    """The store as its owner (who edits) or its staff (who look) sees it; 404 otherwise."""
    if user.role != Role.merchant_staff:
        raise StoreNotFound("no such store among yours")
    store = await session.scalar(
        select(Store).where(Store.id == store_id, Store.id.in_(access.store_ids_query(user.id)))
    )
    if store is None:
        raise StoreNotFound("no such store among yours")
    owner = await session.scalar(select(Merchant.owner_id).where(Merchant.id == store.merchant_id))
    return StoreSeen(store, may_edit=owner == user.id)


def checked(edit: StoreEdit) -> dict[str, object]:
    """The columns an edit sets, every value checked (BadHours / InvalidInput otherwise)."""
    given = edit.model_fields_set
    if "week" in given and "opening_hours" in given:
        raise InvalidInput(HOURS_TWICE)
    values: dict[str, object] = {}
    if "week" in given:
        values["opening_hours"] = hours.from_week(edit.week or {})
    elif "opening_hours" in given:
        values["opening_hours"] = hours.normalize(edit.opening_hours)
    if "opening_hours" in values:
        values["hours_generated"] = False  # the merchant's own, never replaced by a guess
    if "timezone" in given:
        values["timezone"] = zone_name(edit.timezone)
    if "description" in given:
        text = (edit.description or "").strip()
        if len(text) > DESCRIPTION_MAX:
            raise InvalidInput(TOO_LONG)
        values["description"] = text or None
    return values


async def update_store(
    session: AsyncSession, owner: User, store_id: uuid.UUID, edit: StoreEdit
) -> Store:
    """Apply an owner's edit to one of their stores, all of it or (refused) none of it."""
    store = await owned_store(session, owner, store_id)
    for column, value in checked(edit).items():
        setattr(store, column, value)
    await session.flush()
    return store
