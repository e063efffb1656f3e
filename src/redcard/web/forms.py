"""Page forms that change state.

Every such form carries a hidden `idempotency_key` (a fresh token per rendered form), so a
double tap or a resubmitted page changes things once. The change runs in a savepoint: when it
is refused (AppError), only the change is undone; the request's session and the logged-in user
stay loaded, so the handler re-renders the page with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import InvalidInput
from redcard.http import idempotency
from redcard.kit.time import local_input
from redcard.models import User

FIELD = "idempotency_key"


def local_datetime(value: object, refusal: str = "not a date and time") -> datetime | None:
    """A `datetime-local` form value, read in the programme's time zone (None when empty;
    `refusal` when it is not a date and time)."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return local_input(datetime.fromisoformat(text))
    except ValueError as exc:
        raise InvalidInput(refusal) from exc


async def submit_once(
    session: AsyncSession,
    user: User,
    form: Mapping[str, Any],
    fingerprint: str,
    action: Callable[[], Awaitable[BaseModel]],
) -> idempotency.Outcome:
    """Run `action` once for this rendered form, in a savepoint (see the module docstring)."""
    async with session.begin_nested():
        return await idempotency.once(
            session, f"user:{user.id}", str(form.get(FIELD, "")), fingerprint, action
        )
