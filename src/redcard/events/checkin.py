"""Check-in at the door.

Staff scan or type a code. A `CodeResolver` turns a code into the registration it admits;
the per-registration code ships now, and the rotating member code from the till can be added
as another resolver (`register_resolver`) without touching the rules here:

- an unknown, cancelled, waitlisted or released code gets one generic error;
- a registration for another event is refused;
- a second check-in of the same registration is refused (conditional UPDATE on the status).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, InvalidInput
from redcard.events import repository as repo
from redcard.events import service
from redcard.kit.time import utc_now
from redcard.models import Event, EventRegistration, EventStatus, RegistrationStatus, User

CHECKIN_OPENS_BEFORE = timedelta(hours=2)


class InvalidCode(InvalidInput):
    """The one answer for every code that admits nobody."""

    status_code = 422


class WrongEvent(Conflict):
    pass


class AlreadyCheckedIn(Conflict):
    pass


class NotPaid(Conflict):
    pass


class CheckInClosed(Conflict):
    pass


GENERIC = "this code is not valid"


class CodeResolver(Protocol):
    async def resolve(
        self, session: AsyncSession, event: Event, code: str, at: datetime
    ) -> EventRegistration | None:
        """The registration this code stands for, or None if it is not this resolver's."""
        ...


class RegistrationCodeResolver:
    """The 8-character code printed on the member's registration (and in its QR)."""

    async def resolve(
        self, session: AsyncSession, event: Event, code: str, at: datetime
    ) -> EventRegistration | None:
        cleaned = re.sub(r"[^A-Z0-9]", "", code.upper())
        if len(cleaned) != service.CODE_LENGTH:
            return None
        return await repo.get_by_code(session, cleaned)


_resolvers: list[CodeResolver] = [RegistrationCodeResolver()]


def register_resolver(resolver: CodeResolver) -> None:
    """Plug in another way to identify a member at the door (e.g. the rotating member code,
    which resolves to the member's registration for `event`)."""
    _resolvers.append(resolver)


async def check_in(
    session: AsyncSession, staff: User, event_id: uuid.UUID, code: str
) -> tuple[EventRegistration, User]:
    event = await service.managed_event(session, staff, event_id)
    now = utc_now()
    if event.status != EventStatus.scheduled:
        raise CheckInClosed("this event was cancelled")
    if now < event.starts_at - CHECKIN_OPENS_BEFORE or now >= event.ends_at:
        raise CheckInClosed("check-in is open from 2 hours before the start until the end")
    registration = None
    for resolver in _resolvers:
        registration = await resolver.resolve(session, event, code, now)
        if registration is not None:
            break
    if registration is None:
        raise InvalidCode(GENERIC)
    if registration.event_id != event.id:
        raise WrongEvent("this code is for another event")
    if await repo.move(
        session,
        registration.id,
        [RegistrationStatus.registered],
        status=RegistrationStatus.checked_in,
        checked_in_at=now,
        checked_in_by=staff.id,
    ):
        await session.refresh(registration)
        member = await session.get_one(User, registration.member_id)
        return registration, member
    await session.refresh(registration)
    if registration.status == RegistrationStatus.checked_in:
        raise AlreadyCheckedIn("this registration is already checked in")
    if registration.status == RegistrationStatus.awaiting_payment:
        raise NotPaid("this seat has not been paid for")
    raise InvalidCode(GENERIC)
