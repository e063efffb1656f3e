"""Event rules: create/edit/cancel, register, waitlist and promotion, member cancellation,
release when a card ends, and the paid-seat order handler.

Seats are counted in `events.registered` and only ever changed by conditional UPDATEs
(`repository.take_seat` / `free_seat` / `set_capacity`) whose row count decides; the database
refuses `registered > capacity` and `registered < 0`, and a member appears once per event.
Status changes of a registration are conditional too (`repository.move`), so two workers or
two taps cannot act on the same registration twice.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard import notifications
from redcard.errors import Conflict, Forbidden, InvalidInput, NotFound
from redcard.events import repository as repo
from redcard.events.eligibility import has_card_for
from redcard.events.schemas import EventCreate, EventUpdate
from redcard.kit.sql import rowcount
from redcard.kit.time import local_time, utc_now
from redcard.ledger.accounts import Account
from redcard.merchants import access
from redcard.models import (
    Event,
    EventEligibility,
    EventRegistration,
    EventStatus,
    Order,
    OrderKind,
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RegistrationStatus,
    Role,
    Store,
    User,
)
from redcard.models.event_registration import LIVE_STATUSES, SEAT_STATUSES
from redcard.payments import refunds
from redcard.payments import service as payments
from redcard.payments.channels import Channels
from redcard.payments.orders import OrderHandler

# what each message to a member says (rendered in their language by redcard.delivery)
_EVENT_MESSAGES = {
    "event_registered": ("You are in: {event}", "Your seat at {event} ({starts_at}) is booked."),
    "event_seat_held": (
        "Seat held: {event}",
        "A seat at {event} ({starts_at}) is held for you. Pay to confirm it.",
    ),
    "event_waitlisted": (
        "On the waitlist: {event}",
        "{event} ({starts_at}) is full. You are on the waitlist; we will tell you if a seat frees.",
    ),
    "event_promoted": (
        "A seat freed up: {event}",
        "You moved up from the waitlist: your seat at {event} ({starts_at}) is booked.",
    ),
    "event_promoted_pay": (
        "A seat freed up: {event}",
        "A seat at {event} ({starts_at}) is held for you for {hold_minutes} minutes. Pay to "
        "confirm it.",
    ),
    "event_cancelled": (
        "Event cancelled: {event}",
        "{event} is cancelled: {reason}. Refund: {refund}.",
    ),
    "event_registration_released": (
        "Your place is released: {event}",
        "Your place at {event} is released. Refund: {refund}.",
    ),
    "event_hold_lapsed": (
        "Your seat hold ended: {event}",
        "The seat held for you at {event} was not paid in time and is released. Refund: {refund}.",
    ),
    "event_reminder": (
        "Reminder: {event}",
        "{event} starts at {starts_at}. Your check-in code: {code}.",
    ),
}
for _template, (_subject, _body) in _EVENT_MESSAGES.items():
    notifications.message(_template, _subject, _body)

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud at the door
CODE_LENGTH = 8


class EventNotFound(NotFound):
    pass


class RegistrationNotFound(NotFound):
    pass


class RegistrationClosed(Conflict):
    pass


class NoEligibleCard(Forbidden):
    pass


class AlreadyRegistered(Conflict):
    pass


class CancellationClosed(Conflict):
    pass


class CapacityBelowRegistered(Conflict):
    pass


class EventNotEditable(Conflict):
    pass


class NothingToPay(Conflict):
    pass


class NotYourStore(Forbidden):
    pass


class InvalidEvent(InvalidInput):
    pass


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


# -- who may manage ---------------------------------------------------------------------------
def _may_manage(user: User) -> None:
    if user.role not in (Role.operator, Role.merchant_staff):
        raise Forbidden("your account may not manage events")


async def managed_store_ids(session: AsyncSession, user: User) -> list[uuid.UUID] | None:
    """None for an operator (every event); for merchant staff, the stores they may act on
    (`merchants.access`: stores they are staff of and every store of a merchant they own)."""
    _may_manage(user)
    return await access.store_ids_for(session, user)


async def stores_to_host(session: AsyncSession, user: User) -> Sequence[Store]:
    """The stores a new event may take place at: an operator picks among live stores, merchant
    staff among their own."""
    _may_manage(user)
    if user.role == Role.operator:
        return await repo.live_stores(session)
    return await access.stores_for(session, user)


async def managed_event(session: AsyncSession, user: User, event_id: uuid.UUID) -> Event:
    """An event the user may manage; any other is reported as not found."""
    event = await repo.get_event(session, event_id)
    stores = await managed_store_ids(session, user)
    if event is None or (stores is not None and event.store_id not in stores):
        raise EventNotFound("no such event")
    return event


async def get_event(session: AsyncSession, event_id: uuid.UUID) -> Event:
    event = await repo.get_event(session, event_id)
    if event is None:
        raise EventNotFound("no such event")
    return event


# -- create, edit, cancel ---------------------------------------------------------------------
async def create_event(session: AsyncSession, user: User, data: EventCreate) -> Event:
    stores = await managed_store_ids(session, user)
    if data.store_id is not None:
        if await session.get(Store, data.store_id) is None:
            raise EventNotFound("no such store")
        if stores is not None and data.store_id not in stores:
            raise NotYourStore("you can create events only at your own stores")
    elif stores is not None:
        raise NotYourStore("merchant events take place at one of your stores")
    now = utc_now()
    if data.starts_at <= now:
        raise InvalidEvent("the event must start in the future")
    event = Event(
        title=data.title.strip(),
        description=data.description.strip(),
        store_id=data.store_id,
        venue=(data.venue or "").strip() or None,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        registration_opens_at=data.registration_opens_at or now,
        registration_closes_at=data.registration_closes_at or data.starts_at,
        cancel_deadline=data.cancel_deadline or data.starts_at - timedelta(hours=24),
        capacity=data.capacity,
        registered=0,
        waitlist_seq=0,
        eligibility=data.eligibility,
        price_fen=data.price_fen,
        hold_minutes=data.hold_minutes,
        status=EventStatus.scheduled,
        created_by=user.id,
    )
    session.add(event)
    await session.flush()
    return event


async def update_event(
    session: AsyncSession, user: User, event_id: uuid.UUID, data: EventUpdate
) -> Event:
    """Edit details. Capacity may grow (the waitlist is promoted into the new seats) or shrink
    down to the seats already taken, never below."""
    event = await managed_event(session, user, event_id)
    if event.status != EventStatus.scheduled or event.ends_at <= utc_now():
        raise EventNotEditable("a cancelled or finished event cannot be edited")
    if data.title is not None:
        event.title = data.title.strip()
    if data.description is not None:
        event.description = data.description.strip()
    if data.venue is not None:
        event.venue = data.venue.strip() or None
        if event.venue is None and event.store_id is None:
            raise EventNotEditable("an event without a store needs a venue")
    if data.registration_closes_at is not None:
        if data.registration_closes_at > event.starts_at:
            raise EventNotEditable("registration must close by the start")
        event.registration_closes_at = data.registration_closes_at
    if data.cancel_deadline is not None:
        if data.cancel_deadline > event.starts_at:
            raise EventNotEditable("the cancellation deadline must be before the start")
        event.cancel_deadline = data.cancel_deadline
    await session.flush()
    if data.capacity is not None and data.capacity != event.capacity:
        if not await repo.set_capacity(session, event.id, data.capacity):
            await session.refresh(event)
            raise CapacityBelowRegistered(
                f"{event.registered} seats are already taken; the capacity cannot go below "
                f"{event.registered}"
            )
        await promote(session, event.id)
    await session.refresh(event)
    return event


async def cancel_event(
    session: AsyncSession, user: User, event_id: uuid.UUID, reason: str
) -> Event:
    """Cancel once: every registrant is told, every paid seat refunded through the one refund
    path. The conditional status change makes a second cancel a no-op conflict."""
    event = await managed_event(session, user, event_id)
    now = utc_now()
    if event.ends_at <= now:
        raise EventNotEditable("the event is over")
    result = await session.execute(
        update(Event)
        .where(Event.id == event.id, Event.status == EventStatus.scheduled)
        .values(status=EventStatus.cancelled, cancelled_at=now, cancel_reason=reason.strip())
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise EventNotEditable("the event is already cancelled")
    for reg in await repo.list_live_for_event(session, event.id):
        if not await repo.move(
            session,
            reg.id,
            [reg.status],
            status=RegistrationStatus.event_cancelled,
            ended_at=now,
        ):
            continue
        refund = await _refund(session, reg, RefundReason.event_cancelled)
        notifications.enqueue(
            session,
            reg.member_id,
            "event_cancelled",
            event=event.title,
            reason=reason.strip(),
            refund_fen=refund.amount_fen if refund else 0,
        )
    await session.flush()
    await session.refresh(event)
    return event


def starts_text(event: Event) -> str:
    """When an event starts, as a message to a member says it: the programme zone's time,
    naming its zone ("2026-12-01 19:00 UTC+8")."""
    return local_time(event.starts_at)


# -- registering ------------------------------------------------------------------------------
async def register(
    session: AsyncSession,
    channels: Channels,
    member: User,
    event_id: uuid.UUID,
    *,
    base_url: str,
) -> EventRegistration:
    """Take a seat if one is free, otherwise join the waitlist. A paid seat is held for
    `hold_minutes` while the member pays; the pay link comes from `pay_for_seat` in the next
    request, so the event row (locked by the seat UPDATE until commit) is never held across
    a call to the payment channel."""
    event = await get_event(session, event_id)
    now = utc_now()
    if event.status != EventStatus.scheduled:
        raise RegistrationClosed("this event was cancelled")
    if now < event.registration_opens_at:
        raise RegistrationClosed("registration has not opened yet")
    if not event.registration_open(now):
        raise RegistrationClosed("registration for this event has closed")
    if not await has_card_for(session, member.id, event, now):  # checks the end date itself
        raise NoEligibleCard(
            "this event is for active card holders"
            if event.eligibility == EventEligibility.card
            else "this event is for card holders (trial cards welcome)"
        )
    existing = await repo.get_by_member(session, event.id, member.id)
    if existing is not None and existing.status not in (
        RegistrationStatus.cancelled,
        RegistrationStatus.released,
    ):
        raise AlreadyRegistered("you are already registered for this event")
    values: dict[str, object]
    if await repo.take_seat(session, event.id):
        values = _seat_values(event, now)
    else:
        position = await repo.next_waitlist_position(session, event.id)
        values = {"status": RegistrationStatus.waitlisted, "waitlist_position": position}
    # The event row stays locked by the seat UPDATE until commit: keep what follows short.
    template = {
        RegistrationStatus.registered: "event_registered",
        RegistrationStatus.awaiting_payment: "event_seat_held",
        RegistrationStatus.waitlisted: "event_waitlisted",
    }[RegistrationStatus(str(values["status"]))]
    notifications.enqueue(
        session, member.id, template, event=event.title, starts_at=starts_text(event)
    )
    if existing is not None:
        reset = {
            "order_id": None,
            "hold_expires_at": None,
            "promoted_at": None,
            "checked_in_at": None,
            "checked_in_by": None,
            "reminded_at": None,
            "ended_at": None,
        }
        if not await repo.move(session, existing.id, [existing.status], **(reset | values)):
            raise AlreadyRegistered("you are already registered for this event")
        registration = await repo.get_registration(session, existing.id)
        assert registration is not None
    else:
        registration = EventRegistration(
            event_id=event.id, member_id=member.id, code=new_code(), **values
        )
        session.add(registration)
    await session.flush()  # the registration and its outbox row in one flush
    return registration


def _seat_values(event: Event, now: datetime) -> dict[str, object]:
    if event.is_paid:
        return {
            "status": RegistrationStatus.awaiting_payment,
            "hold_expires_at": now + timedelta(minutes=event.hold_minutes),
        }
    return {"status": RegistrationStatus.registered}


async def _checkout(
    session: AsyncSession,
    channels: Channels,
    event: Event,
    registration: EventRegistration,
    base_url: str,
) -> str:
    """The pay link for a held seat: one order per hold, reused if the member taps again."""
    if registration.order_id is not None:
        payment = await payments.get_order_payment(session, registration.order_id)
        if payment is not None and payment.pay_url and payment.status == PaymentStatus.pending:
            return payment.pay_url
    order = Order(
        member_id=registration.member_id, kind=OrderKind.event, amount_fen=event.price_fen
    )
    session.add(order)
    await session.flush()
    registration.order_id = order.id
    await session.flush()
    payment = await payments.start_payment(
        session,
        channels,
        order,
        subject=event.title,
        base_url=base_url,
        return_url=f"{base_url}/events/{event.id}",
    )
    assert payment.pay_url is not None
    return payment.pay_url


async def pay_for_seat(
    session: AsyncSession, channels: Channels, member: User, event_id: uuid.UUID, *, base_url: str
) -> str:
    """A member with a held seat (just registered, or promoted from the waitlist) pays."""
    event = await get_event(session, event_id)
    registration = await repo.get_by_member(session, event.id, member.id)
    if registration is None or registration.status != RegistrationStatus.awaiting_payment:
        raise NothingToPay("you have no seat waiting for payment at this event")
    return await _checkout(session, channels, event, registration, base_url)


async def get_registration(
    session: AsyncSession, member: User, event_id: uuid.UUID
) -> EventRegistration:
    registration = await repo.get_by_member(session, event_id, member.id)
    if registration is None:
        raise RegistrationNotFound("you are not registered for this event")
    return registration


async def cancel_registration(
    session: AsyncSession, member: User, event_id: uuid.UUID
) -> EventRegistration:
    """The member gives up a seat (before the deadline) or leaves the waitlist (any time
    before the start). A freed seat goes to the first on the waitlist."""
    event = await get_event(session, event_id)
    registration = await repo.get_by_member(session, event.id, member.id)
    if registration is None or registration.status not in LIVE_STATUSES:
        raise RegistrationNotFound("you have no registration to cancel at this event")
    now = utc_now()
    had_seat = registration.status in SEAT_STATUSES
    if had_seat and now >= event.cancel_deadline:
        raise CancellationClosed("the cancellation deadline for this event has passed")
    if not had_seat and now >= event.starts_at:
        raise CancellationClosed("the event has started")
    if not await repo.move(
        session,
        registration.id,
        [registration.status],
        status=RegistrationStatus.cancelled,
        ended_at=now,
    ):
        raise Conflict("your registration changed meanwhile; reload and try again")
    if had_seat:
        await repo.free_seat(session, event.id)
        await promote(session, event.id)
        await _refund(session, registration, RefundReason.event_registration_cancelled)
    await session.flush()
    await session.refresh(registration)
    return registration


async def promote(session: AsyncSession, event_id: uuid.UUID) -> int:
    """Fill free seats from the head of the waitlist, in order. Each seat is taken by the
    conditional update first (which also queues other seat-takers on the event row), then
    given to the first waitlisted registration that is still waiting."""
    event = await get_event(session, event_id)
    now = utc_now()
    if event.status != EventStatus.scheduled or now >= event.starts_at:
        return 0
    promoted = 0
    while await repo.take_seat(session, event.id):
        placed = False
        while (candidate := await repo.first_waitlisted(session, event.id)) is not None:
            if not await has_card_for(session, candidate.member_id, event, now):
                await repo.move(
                    session,
                    candidate.id,
                    [RegistrationStatus.waitlisted],
                    status=RegistrationStatus.released,
                    ended_at=now,
                )
                continue
            if await repo.move(
                session,
                candidate.id,
                [RegistrationStatus.waitlisted],
                promoted_at=now,
                **_seat_values(event, now),
            ):
                notifications.enqueue(
                    session,
                    candidate.member_id,
                    "event_promoted_pay" if event.is_paid else "event_promoted",
                    event=event.title,
                    starts_at=starts_text(event),
                    hold_minutes=event.hold_minutes,
                )
                placed = True
                break
        if not placed:
            await repo.free_seat(session, event.id)
            break
        promoted += 1
    await session.flush()
    return promoted


async def release(
    session: AsyncSession, registration: EventRegistration, reason: RefundReason, template: str
) -> bool:
    """End a live registration that the member did not cancel (card ended, hold lapsed):
    free its seat, promote the waitlist, refund what was paid, tell the member."""
    now = utc_now()
    had_seat = registration.status in SEAT_STATUSES
    if not await repo.move(
        session,
        registration.id,
        [registration.status],
        status=RegistrationStatus.released,
        ended_at=now,
    ):
        return False
    if had_seat:
        await repo.free_seat(session, registration.event_id)
        await promote(session, registration.event_id)
    refund = await _refund(session, registration, reason)
    event = await get_event(session, registration.event_id)
    notifications.enqueue(
        session,
        registration.member_id,
        template,
        event=event.title,
        refund_fen=refund.amount_fen if refund else 0,
    )
    await session.flush()
    return True


async def release_for_member(session: AsyncSession, member_id: uuid.UUID) -> int:
    """The member's card ended (suspended, expired, refunded, programme sunset): release their
    registrations for events still to come that their card no longer admits them to."""
    released = 0
    for registration in await repo.live_future_without_card(session, utc_now(), member_id):
        if await release(
            session, registration, RefundReason.card_ended, "event_registration_released"
        ):
            released += 1
    return released


async def _refund(
    session: AsyncSession, registration: EventRegistration, reason: RefundReason
) -> Refund | None:
    """Refund what is left of the registration's payment through the one refund path."""
    if registration.order_id is None:
        return None
    payment = await session.scalar(
        select(Payment).where(
            Payment.order_id == registration.order_id,
            Payment.status == PaymentStatus.succeeded,
        )
    )
    if payment is None:
        return None
    available = await refunds.refundable_fen(session, payment)
    if available <= 0:
        return None
    return await refunds.request_refund(session, payment.id, available, reason)


# -- the order handler ------------------------------------------------------------------------
async def _on_paid(session: AsyncSession, order: Order) -> None:
    """Payment confirmed for a held seat: the seat is confirmed. If the hold lapsed or the
    registration ended before the money arrived, the payment is refunded in full."""
    registration = await repo.get_by_order(session, order.id)
    if registration is not None and await repo.move(
        session,
        registration.id,
        [RegistrationStatus.awaiting_payment],
        status=RegistrationStatus.registered,
        hold_expires_at=None,
    ):
        event = await get_event(session, registration.event_id)
        notifications.enqueue(
            session,
            registration.member_id,
            "event_registered",
            event=event.title,
            starts_at=starts_text(event),
        )
        return
    payment = await session.scalar(
        select(Payment).where(
            Payment.order_id == order.id, Payment.status == PaymentStatus.succeeded
        )
    )
    assert payment is not None
    available = await refunds.refundable_fen(session, payment)
    if available > 0:
        await refunds.request_refund(
            session, payment.id, available, RefundReason.event_seat_not_held
        )


async def _on_refunded(session: AsyncSession, order: Order) -> None:
    """Refunded from elsewhere while still holding a seat: the seat is released."""
    registration = await repo.get_by_order(session, order.id)
    if registration is not None and registration.status in LIVE_STATUSES:
        await release(
            session, registration, RefundReason.order_refunded, "event_registration_released"
        )


# what payments does with paid event seats; registered at start-up by redcard.order_kinds
ORDER_HANDLER = OrderHandler(
    credit_account=Account.deferred_event_revenue,
    on_paid=_on_paid,
    on_refunded=_on_refunded,
)
