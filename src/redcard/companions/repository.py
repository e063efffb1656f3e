"""Queries of the companion card: whose card a person uses, and the companionships around a
primary and an invitee. The till has its own copy of the card rule inside its one read
(`redemption/repository.read_till`); this is the same rule for the member's own pages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.sql import for_update_kwargs
from redcard.models import (
    Companion,
    CompanionStatus,
    Membership,
    MembershipStatus,
    PlanKind,
    User,
)

OPEN = (CompanionStatus.pending, CompanionStatus.active)


def _usable(now: datetime) -> list[ColumnElement[bool]]:
    return [
        Membership.status == MembershipStatus.active,
        Membership.starts_at <= now,
        Membership.ends_at > now,
    ]


async def own_card(session: AsyncSession, person_id: uuid.UUID, now: datetime) -> Membership | None:
    """The person's own usable card (paid or trial)."""
    return await session.scalar(
        select(Membership).where(Membership.member_id == person_id, *_usable(now)).limit(1)
    )


async def primary_paid_card(
    session: AsyncSession, primary_id: uuid.UUID, now: datetime
) -> Membership | None:
    """The primary's usable paid card: the one a companion rides on (renewed or not)."""
    return await session.scalar(
        select(Membership)
        .where(Membership.member_id == primary_id, Membership.kind == PlanKind.paid, *_usable(now))
        .limit(1)
    )


@dataclass(frozen=True)
class CardInUse:
    """The card a person's code uses now: their own, or (`companionship` set) their primary's."""

    card: Membership
    companionship: Companion | None = None

    @property
    def holder_id(self) -> uuid.UUID:
        return self.card.member_id


async def card_in_use(
    session: AsyncSession, person_id: uuid.UUID, now: datetime
) -> CardInUse | None:
    """Own card first, else the primary's usable paid card through an active companionship."""
    own = await own_card(session, person_id, now)
    if own is not None:
        return CardInUse(own)
    link = await active_as_companion(session, person_id)
    if link is None:
        return None
    card = await primary_paid_card(session, link.primary_id, now)
    return None if card is None else CardInUse(card, link)


async def active_as_companion(
    session: AsyncSession, person_id: uuid.UUID, *, lock: bool = False
) -> Companion | None:
    stmt = select(Companion).where(
        Companion.companion_id == person_id, Companion.status == CompanionStatus.active
    )
    return await session.scalar(_locked(session, stmt) if lock else stmt)


async def open_as_primary(
    session: AsyncSession, primary_id: uuid.UUID, *, lock: bool = False
) -> Companion | None:
    """The primary's pending invitation or active companion (at most one)."""
    stmt = select(Companion).where(Companion.primary_id == primary_id, Companion.status.in_(OPEN))
    return await session.scalar(_locked(session, stmt) if lock else stmt)


async def get_locked(session: AsyncSession, companion_id: uuid.UUID) -> Companion | None:
    return await session.scalar(
        _locked(session, select(Companion).where(Companion.id == companion_id))
    )


async def pending_for_phone(session: AsyncSession, phone: str) -> Sequence[tuple[Companion, User]]:
    """Invitations waiting for this phone number, newest first, with who sent them."""
    rows = await session.execute(
        select(Companion, User)
        .join(User, User.id == Companion.primary_id)
        .where(Companion.phone == phone, Companion.status == CompanionStatus.pending)
        .order_by(Companion.created_at.desc())
    )
    return [(c, u) for c, u in rows]


async def lock_person(session: AsyncSession, person_id: uuid.UUID) -> None:
    """Serialise what makes a person a holder or a companion (accepting an invitation, a card
    starting): both lock the person's user row first (SQLite: BEGIN IMMEDIATE already does)."""
    await session.execute(
        select(User.id).where(User.id == person_id).with_for_update(**for_update_kwargs(session))
    )


def _locked(session: AsyncSession, stmt: Select[Companion]) -> Select[Companion]:
    return stmt.with_for_update(**for_update_kwargs(session)).execution_options(
        populate_existing=True
    )
