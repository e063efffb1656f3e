"""Helpers for event tests: events created through the service, card holders made fast."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.db import Database
from redcard.events import service
from redcard.events.schemas import EventCreate
from redcard.kit import time as clock
from redcard.kit.time import utc_now
from redcard.models import (
    Event,
    EventRegistration,
    Membership,
    MembershipStatus,
    PlanKind,
    Role,
    User,
)
from tests.fixtures.factories import Plans, create_member, phone, seed_plans

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def frozen_now() -> datetime:
    clock.freeze(NOW)
    return NOW


async def plans(session: AsyncSession) -> Plans:
    return await seed_plans(session)


def quick_user(session: AsyncSession, name: str = "会员", role: Role = Role.member) -> User:
    """A user row without hashing a password (for tests that need hundreds of members)."""
    user = User(role=role, phone=phone(), display_name=name, password_hash="!")
    session.add(user)
    return user


async def give_card(
    session: AsyncSession, member: User, kind: PlanKind = PlanKind.paid, days: int = 365
) -> Membership:
    p = await plans(session)
    await session.flush()
    card = Membership(
        member_id=member.id,
        plan_id=(p.annual if kind == PlanKind.paid else p.trial).id,
        kind=kind,
        status=MembershipStatus.active,
        starts_at=utc_now() - timedelta(days=1),
        ends_at=utc_now() + timedelta(days=days),
    )
    session.add(card)
    await session.flush()
    return card


async def card_holders(
    db: Database, n: int, kind: PlanKind = PlanKind.paid, quick: bool = True
) -> list[User]:
    async with db.session_scope() as session:
        users = []
        for i in range(n):
            user = (
                quick_user(session, f"会员{i}")
                if quick
                else await create_member(session, name=f"会员{i}")
            )
            await session.flush()
            await give_card(session, user, kind)
            users.append(user)
        return users


async def new_operator(db: Database) -> User:
    async with db.session_scope() as session:
        return await create_member(session, name="运营", role=Role.operator)


async def make_event(db: Database, operator: User | None = None, **overrides: object) -> Event:
    operator = operator or await new_operator(db)
    start = utc_now() + timedelta(days=3)
    data = {
        "title": "会员专属品鉴会",
        "venue": "上海市静安区某咖啡馆",
        "starts_at": start,
        "ends_at": start + timedelta(hours=2),
        "capacity": 2,
    } | overrides
    async with db.session_scope() as session:
        return await service.create_event(session, operator, EventCreate.model_validate(data))


async def registration_of(db: Database, event_id: uuid.UUID, member: User) -> EventRegistration:
    from redcard.events import repository as repo

    async with db.session_scope() as session:
        reg = await repo.get_by_member(session, event_id, member.id)
        assert reg is not None
        return reg


async def event_row(db: Database, event_id: uuid.UUID) -> Event:
    async with db.session_scope() as session:
        return await session.get_one(Event, event_id)
