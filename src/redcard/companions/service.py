"""Companion card rules (issue 16).

- The primary (holder of an active paid card) invites one household companion by phone. The
  invitation waits under that number; an existing member is told at once, a new person sees it
  after signing up with the number.
- The invitee accepts: they must not hold a usable card, be another card's companion, or have a
  companion of their own, and the primary's card must be usable. Their own member code then
  resolves at the till to the primary's card (`redemption/repository.read_till`), and what they
  save is booked to the card's holder (`ledger/savings.py`).
- Only the primary removes; the companion's code stops at once. It also stops the moment the
  primary's card is not usable (expiry, refund, sunset): the till checks the card live.
- A person is the active companion of one card at most, and never a holder and a companion at
  once: partial unique indexes, plus the person's user row locked by both accepting and a card
  starting (`check_may_hold_card`), so neither can race past the other.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.accounts.service import normalise_phone
from redcard.companions import repository as repo
from redcard.companions.schemas import CompanionState, CompanionView, Invitation, SharedCard
from redcard.errors import Conflict, Forbidden, InvalidInput, NotFound
from redcard.kit.sql import rowcount
from redcard.kit.time import utc_now
from redcard.models import Companion, CompanionStatus, Role, User
from redcard.notifications import enqueue, message

INVITED = message(
    "companion_invited",
    "You are invited to share a Redcard",
    "{primary} invited you to use their Redcard as a household companion. "
    "Open Me → Companion card to accept.",
)
ACCEPTED = message(
    "companion_accepted",
    "Your companion joined your card",
    "{companion} accepted: they have their own member code on your card, and what they save "
    "counts toward your card's savings.",
)
REMOVED = message(
    "companion_removed",
    "You are no longer on a shared card",
    "{primary} removed you from their Redcard. Your member code no longer uses their card.",
)


class NotCardHolder(Conflict):
    pass


class CompanionAlreadyInvited(Conflict):
    pass


class CannotInviteYourself(InvalidInput):
    pass


class InvitationNotFound(NotFound):
    pass


class CannotAccept(Conflict):
    pass


class NoCompanion(NotFound):
    pass


class OnlyTheHolder(Forbidden):
    pass


class StillACompanion(Conflict):
    pass


def masked_phone(phone: str | None) -> str | None:
    return None if phone is None else f"{phone[:3]}****{phone[-4:]}"


def masked_person(user: User) -> str:
    """First character and the last 4 phone digits (the till's rule, `User.masked_name`)."""
    return user.masked_name


# -- reading ----------------------------------------------------------------------------------
async def _view(session: AsyncSession, link: Companion) -> CompanionView:
    name = None
    if link.companion_id is not None:
        companion = await session.get_one(User, link.companion_id)
        name = companion.display_name
    return CompanionView(
        id=link.id,
        status=link.status,
        phone=masked_phone(link.phone),
        name=name,
        invited_at=link.created_at,
        accepted_at=link.accepted_at,
        ended_at=link.ended_at,
    )


async def shared_card(session: AsyncSession, person: User) -> SharedCard | None:
    """The card this person uses as a companion, whether it is usable now or not."""
    link = await repo.active_as_companion(session, person.id)
    if link is None:
        return None
    primary = await session.get_one(User, link.primary_id)
    card = await repo.primary_paid_card(session, link.primary_id, utc_now())
    return SharedCard(
        companionship_id=link.id,
        primary=masked_person(primary),
        usable=card is not None,
        ends_at=card.ends_at if card else None,
        accepted_at=link.accepted_at,
    )


async def state(session: AsyncSession, person: User) -> CompanionState:
    now = utc_now()
    holder = person.role == Role.member and (
        await repo.primary_paid_card(session, person.id, now) is not None
    )
    link = await repo.open_as_primary(session, person.id)
    invitations = [
        Invitation(id=c.id, primary=masked_person(primary), invited_at=c.created_at)
        for c, primary in await repo.pending_for_phone(session, person.phone)
        if c.primary_id != person.id
    ]
    return CompanionState(
        may_invite=holder and link is None,
        holder=holder,
        companion=await _view(session, link) if link else None,
        invitations=invitations,
        sharing=await shared_card(session, person),
    )


# -- the primary ------------------------------------------------------------------------------
async def invite(session: AsyncSession, primary: User, phone: str) -> CompanionView:
    """Invite one household companion by phone (a pending invitation until they accept)."""
    number = normalise_phone(phone)
    if number == primary.phone:
        raise CannotInviteYourself("you cannot be your own companion")
    await repo.lock_person(session, primary.id)
    if await repo.primary_paid_card(session, primary.id, utc_now()) is None:
        if await repo.active_as_companion(session, primary.id) is not None:
            raise OnlyTheHolder("only the card's holder can invite a companion")
        raise NotCardHolder("only a member with an active paid card can invite a companion")
    if await repo.open_as_primary(session, primary.id) is not None:
        raise CompanionAlreadyInvited(
            "your card already has a companion or an invitation waiting; remove it first"
        )
    link = Companion(
        primary_id=primary.id, phone=number, status=CompanionStatus.pending, created_at=utc_now()
    )
    session.add(link)
    await session.flush()
    invitee = await _member_with_phone(session, number)
    if invitee is not None:
        enqueue(session, invitee.id, INVITED, primary=masked_person(primary))
    return await _view(session, link)


async def remove(session: AsyncSession, primary: User) -> CompanionView:
    """The primary removes their companion (or withdraws the invitation); a companion's code
    stops using the card at once."""
    link = await repo.open_as_primary(session, primary.id, lock=True)
    if link is None:
        if await repo.active_as_companion(session, primary.id) is not None:
            raise OnlyTheHolder("only the card's holder can remove its companion")
        raise NoCompanion("your card has no companion")
    was_active = link.status == CompanionStatus.active
    link.status = CompanionStatus.removed
    link.ended_at = utc_now()
    link.phone = None
    await session.flush()
    if was_active and link.companion_id is not None:
        enqueue(session, link.companion_id, REMOVED, primary=masked_person(primary))
    return await _view(session, link)


# -- the invitee ------------------------------------------------------------------------------
async def accept(session: AsyncSession, person: User, invitation_id: uuid.UUID) -> SharedCard:
    """Accept an invitation sent to this person's phone number."""
    if person.role != Role.member:
        raise CannotAccept("only a member account can be a companion")
    await repo.lock_person(session, person.id)
    link = await repo.get_locked(session, invitation_id)
    link = _pending_for(link, person)
    now = utc_now()
    if await repo.own_card(session, person.id, now) is not None:
        raise CannotAccept(
            "you hold a card yourself: a person holds a card or is a companion, not both"
        )
    if await repo.active_as_companion(session, person.id) is not None:
        raise CannotAccept("you are already the companion on another card")
    if await repo.open_as_primary(session, person.id) is not None:
        raise CannotAccept("you have a companion on your own card; remove it first")
    if await repo.primary_paid_card(session, link.primary_id, now) is None:
        raise CannotAccept("the card that invited you is not valid any more")
    link.status = CompanionStatus.active
    link.companion_id = person.id
    link.accepted_at = now
    link.phone = None
    await session.flush()
    # the other invitations to this number can no longer be accepted: free their senders
    await session.execute(
        update(Companion)
        .where(Companion.phone == person.phone, Companion.status == CompanionStatus.pending)
        .values(status=CompanionStatus.ended, ended_at=now, phone=None)
        .execution_options(synchronize_session=False)
    )
    enqueue(session, link.primary_id, ACCEPTED, companion=masked_person(person))
    shared = await shared_card(session, person)
    assert shared is not None
    return shared


async def decline(session: AsyncSession, person: User, invitation_id: uuid.UUID) -> None:
    link = await repo.get_locked(session, invitation_id)
    link = _pending_for(link, person)
    link.status = CompanionStatus.declined
    link.ended_at = utc_now()
    link.phone = None
    await session.flush()


def _pending_for(link: Companion | None, person: User) -> Companion:
    """A pending invitation to this person's number. One that was answered, withdrawn or
    ended no longer carries a number (it is dropped when the invitation closes)."""
    if link is None or link.primary_id == person.id:
        raise InvitationNotFound("no such invitation for your phone number")
    if link.status != CompanionStatus.pending:
        raise CannotAccept("this invitation was withdrawn or answered already")
    if link.phone != person.phone:
        raise InvitationNotFound("no such invitation for your phone number")
    return link


# -- guards other capabilities call -----------------------------------------------------------
async def refuse_companion(session: AsyncSession, person_id: uuid.UUID, action: str) -> None:
    """Raise OnlyTheHolder if this person (who has no card of their own) is a companion: they
    may not renew, refund or otherwise act on the card they share. `action` is an English
    phrase such as "give the card back"."""
    if await repo.active_as_companion(session, person_id) is not None:
        raise OnlyTheHolder(f"only the card's holder can {action}; you are its companion")


async def check_may_hold_card(session: AsyncSession, person_id: uuid.UUID) -> None:
    """Before a person's own card is bought or starts: refuse while they are the companion on
    a usable card. A companionship whose card is not usable any more ends here, making way
    for the person's own card. Locks the person's user row (see `accept`)."""
    await repo.lock_person(session, person_id)
    link = await repo.active_as_companion(session, person_id, lock=True)
    if link is None:
        return
    if await repo.primary_paid_card(session, link.primary_id, utc_now()) is not None:
        raise StillACompanion(
            "you use another member's card as their companion: a person holds a card or is a "
            "companion, not both. Ask the card's holder to remove you first"
        )
    link.status = CompanionStatus.ended
    link.ended_at = utc_now()
    await session.flush()


async def forget_person(session: AsyncSession, person: User) -> int:
    """For closing an account: end every companionship of this person (as primary or as
    companion) and drop invitations waiting under their phone number. Returns the rows ended."""
    now = utc_now()
    total = 0
    for condition in (
        Companion.primary_id == person.id,
        Companion.companion_id == person.id,
        Companion.phone == person.phone,
    ):
        result = await session.execute(
            update(Companion)
            .where(condition, Companion.status.in_(repo.OPEN))
            .values(status=CompanionStatus.ended, ended_at=now, phone=None)
            .execution_options(synchronize_session=False)
        )
        total += rowcount(result)
    return total


async def _member_with_phone(session: AsyncSession, phone: str) -> User | None:
    return await session.scalar(
        select(User).where(User.phone == phone, User.role == Role.member, User.closed_at.is_(None))
    )
