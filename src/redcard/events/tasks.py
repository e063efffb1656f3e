"""Worker steps for events. Each re-reads rows, changes them with conditional updates and is
safe to run twice or to kill half-way (its unit of work rolls back)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard import notifications
from redcard.events import repository as repo
from redcard.events import service
from redcard.kit.sql import rowcount
from redcard.kit.time import utc_now
from redcard.models import Event, EventRegistration, RefundReason, RegistrationStatus

REMIND_BEFORE = timedelta(hours=24)


async def expire_holds(session: AsyncSession, limit: int = 500) -> int:
    """Paid seats held past their time go to the next on the waitlist."""
    done = 0
    for registration in await repo.lapsed_holds(session, utc_now(), limit):
        if await service.release(
            session, registration, RefundReason.hold_lapsed, "event_hold_lapsed"
        ):
            done += 1
    return done


async def release_ended_cards(session: AsyncSession, limit: int = 500) -> int:
    """Registrations of members whose card ended are released (the waitlist is promoted)."""
    members = {
        r.member_id for r in await repo.live_future_without_card(session, utc_now(), None, limit)
    }
    done = 0
    for member_id in sorted(members):
        done += await service.release_for_member(session, member_id)
    return done


async def send_reminders(session: AsyncSession, limit: int = 500) -> int:
    """A day before the event, once per registration: the claim on `reminded_at` and the
    outbox row are written in the same transaction."""
    now = utc_now()
    sent = 0
    for registration, event in await repo.due_for_reminder(
        session, now, now + REMIND_BEFORE, limit
    ):
        claimed = await session.execute(
            update(EventRegistration)
            .where(EventRegistration.id == registration.id, EventRegistration.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(claimed) != 1:
            continue
        notifications.enqueue(
            session,
            registration.member_id,
            "event_reminder",
            event=event.title,
            starts_at=service.starts_text(event),
            code=service.format_code(registration.code),
        )
        sent += 1
    await session.flush()
    return sent


async def record_no_shows(session: AsyncSession, limit: int = 100) -> int:
    """After an event ends, confirmed seats that never checked in become no-shows; holds
    still unpaid are released."""
    now = utc_now()
    marked = 0
    for event_id in await repo.ended_without_no_shows(session, now, limit):
        claimed = await session.execute(
            update(Event)
            .where(Event.id == event_id, Event.no_shows_recorded_at.is_(None))
            .values(no_shows_recorded_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(claimed) != 1:
            continue
        result = await session.execute(
            update(EventRegistration)
            .where(
                EventRegistration.event_id == event_id,
                EventRegistration.status == RegistrationStatus.registered,
            )
            .values(status=RegistrationStatus.no_show)
            .execution_options(synchronize_session=False)
        )
        marked += max(1, rowcount(result))
    return marked


async def run_all(session: AsyncSession) -> int:
    """The one worker step: holds, ended cards, reminders, no-shows."""
    return (
        await expire_holds(session)
        + await release_ended_cards(session)
        + await send_reminders(session)
        + await record_no_shows(session)
    )
