"""A store's photos: up to `MAX_PHOTOS`, uploaded by its owner, checked and resized like every
uploaded picture (`kit/images.py`), kept in the database beside the store
(`models/store_photo.py`) and shown in `position` order: a new photo goes last, and one can
move earlier (the first is the store's cover). A deleted
photo's position is not reused at once, so a page still showing it never shows another
photo under its address.

`Store.photos_version` changes with every change (a digest of the positions and pictures), so
pages that list a store can put it in their cache keys.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import Path
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from redcard.errors import Conflict, NotFound
from redcard.kit.images import Resized
from redcard.kit.sql import rowcount
from redcard.kit.time import utc_now
from redcard.merchants.stores import owned_store
from redcard.models import Store, StorePhoto, User

MAX_PHOTOS = 6
Position = Annotated[int, Path(ge=0, le=2**31 - 1)]  # a path's photo position (an INTEGER)
TOO_MANY = "a store has at most 6 photos; delete one first"


class TooManyPhotos(Conflict):
    pass


class PhotoNotFound(NotFound):
    pass


async def photos_of(session: AsyncSession, store_id: uuid.UUID) -> Sequence[StorePhoto]:
    """A store's photos in order, without their bytes."""
    stmt = (
        select(StorePhoto)
        .options(
            load_only(
                StorePhoto.store_id,
                StorePhoto.position,
                StorePhoto.width,
                StorePhoto.height,
                StorePhoto.digest,
            )
        )
        .where(StorePhoto.store_id == store_id)
        .order_by(StorePhoto.position)
    )
    return (await session.scalars(stmt)).all()


def url_of(photo: StorePhoto) -> str:
    return f"/stores/{photo.store_id}/photos/{photo.position}?v={photo.digest[:16]}"


async def _new_version(session: AsyncSession, store: Store) -> None:
    rows = await session.execute(
        select(StorePhoto.position, StorePhoto.digest)
        .where(StorePhoto.store_id == store.id)
        .order_by(StorePhoto.position)
    )
    listed = ";".join(f"{position}:{digest}" for position, digest in rows)
    store.photos_version = hashlib.sha256(listed.encode()).hexdigest()[:16] if listed else None


async def add_photo(
    session: AsyncSession, owner: User, store_id: uuid.UUID, image: Resized
) -> StorePhoto:
    """Put a (prepared) photo last among the store's photos; refused past `MAX_PHOTOS`. The
    store row is locked, so two uploads at once queue (and UNIQUE (store_id, position)
    refuses the second where there are no row locks)."""
    store = await owned_store(session, owner, store_id, lock=True)
    count, last = (
        await session.execute(
            select(func.count(), func.max(StorePhoto.position)).where(
                StorePhoto.store_id == store.id
            )
        )
    ).one()
    if count >= MAX_PHOTOS:
        raise TooManyPhotos(TOO_MANY)
    photo = StorePhoto(
        store_id=store.id,
        position=0 if last is None else last + 1,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
        digest=image.digest,
        data=image.data,
        uploaded_by=owner.id,
        uploaded_at=utc_now(),
    )
    session.add(photo)
    await session.flush()
    await _new_version(session, store)
    await session.flush()
    return photo


async def remove_photo(
    session: AsyncSession, owner: User, store_id: uuid.UUID, position: int
) -> Store:
    store = await owned_store(session, owner, store_id, lock=True)
    gone = await session.execute(
        delete(StorePhoto).where(StorePhoto.store_id == store.id, StorePhoto.position == position)
    )
    if not rowcount(gone):
        raise PhotoNotFound("this store has no photo there")
    await _new_version(session, store)
    await session.flush()
    return store


async def move_earlier(
    session: AsyncSession, owner: User, store_id: uuid.UUID, position: int
) -> Store:
    """Swap a photo with the one before it (the first one is the store's cover). Through a
    free position past the last, so UNIQUE (store_id, position) holds at every step."""
    store = await owned_store(session, owner, store_id, lock=True)
    positions = list(
        await session.scalars(
            select(StorePhoto.position)
            .where(StorePhoto.store_id == store.id)
            .order_by(StorePhoto.position)
        )
    )
    if position not in positions:
        raise PhotoNotFound("this store has no photo there")
    index = positions.index(position)
    if index == 0:
        return store  # first already
    before, spare = positions[index - 1], positions[-1] + 1
    for old, new in ((position, spare), (before, position), (spare, before)):
        await session.execute(
            update(StorePhoto)
            .where(StorePhoto.store_id == store.id, StorePhoto.position == old)
            .values(position=new)
        )
    await _new_version(session, store)
    await session.flush()
    return store


async def get_photo(session: AsyncSession, store_id: uuid.UUID, position: int) -> StorePhoto | None:
    return await session.scalar(
        select(StorePhoto).where(StorePhoto.store_id == store_id, StorePhoto.position == position)
    )
