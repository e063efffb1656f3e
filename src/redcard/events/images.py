"""An event's picture: what the organiser uploads, checked and resized like every uploaded
picture (`kit/images.py`: JPEG, PNG, WebP or GIF up to 8 MB, fitted within 1200 px, metadata
dropped), stored in the database (`models/event_image.py` says why) and served with caching
headers (`http/images.py`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.events.service import managed_event
from redcard.kit.images import (  # re-exported: the event pages and tests name them here
    MAX_UPLOAD_BYTES,
    NOT_AN_IMAGE,
    TOO_LARGE,
    TOO_MANY_PIXELS,
    ImageRefused,
    ImageTooLarge,
    Resized,
    prepare,
    resize,
)
from redcard.kit.time import utc_now
from redcard.models import EventImage, User

__all__ = [
    "MAX_UPLOAD_BYTES",
    "NOT_AN_IMAGE",
    "TOO_LARGE",
    "TOO_MANY_PIXELS",
    "ImageRefused",
    "ImageTooLarge",
    "Resized",
    "get_image",
    "prepare",
    "remove_image",
    "resize",
    "set_image",
]


async def set_image(
    session: AsyncSession, user: User, event_id: uuid.UUID, image: Resized
) -> EventImage:
    """Give an event the user manages this (prepared) picture, replacing any it had."""
    event = await managed_event(session, user, event_id)
    row = await session.get(EventImage, event.id)
    if row is None:
        row = EventImage(event_id=event.id)
        session.add(row)
    row.content_type = image.content_type
    row.width, row.height = image.width, image.height
    row.size_bytes = len(image.data)
    row.digest = image.digest
    row.data = image.data
    row.uploaded_by = user.id
    row.uploaded_at = utc_now()
    event.image_version = image.digest[:16]
    await session.flush()
    return row


async def remove_image(session: AsyncSession, user: User, event_id: uuid.UUID) -> None:
    event = await managed_event(session, user, event_id)
    await session.execute(delete(EventImage).where(EventImage.event_id == event.id))
    event.image_version = None
    await session.flush()


async def get_image(session: AsyncSession, event_id: uuid.UUID) -> EventImage | None:
    return await session.get(EventImage, event_id)
