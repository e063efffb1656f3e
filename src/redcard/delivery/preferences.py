"""What a member chooses about their messages: the e-mail address they go to, and whether
marketing messages (the monthly savings summary) come at all. Notices the member is owed
(expiry, renewal, refunds) always come."""

from __future__ import annotations

import re

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import InvalidInput
from redcard.models import User

# one @, something before it, a dotted domain after it, no spaces: the server says the rest
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class MessagePreferences(BaseModel):
    email: str | None
    marketing_messages: bool


def normalised_email(text: str | None) -> str | None:
    """The address as typed, trimmed; None for an empty field; refused when it cannot be one."""
    value = (text or "").strip()
    if not value:
        return None
    if len(value) > 254 or not EMAIL.match(value):
        raise InvalidInput("that is not an e-mail address")
    return value


async def set_preferences(
    session: AsyncSession, user: User, email: str | None, marketing_messages: bool
) -> MessagePreferences:
    user.email = normalised_email(email)
    user.marketing_messages = marketing_messages
    await session.flush()
    return MessagePreferences(email=user.email, marketing_messages=user.marketing_messages)
