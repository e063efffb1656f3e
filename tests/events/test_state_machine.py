"""Property test: any sequence of register / cancel / promote / capacity change / card ending
keeps `registered <= capacity`, `registered` equal to the seats actually held, one row per
member, and a free seat never coexists with a waiting member.

Runs against a real database (both backends) through the service, in its own event loop
because hypothesis drives rules synchronously."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from redcard.db import Database
from redcard.errors import AppError
from redcard.events import service
from redcard.events.schemas import EventCreate, EventUpdate
from redcard.kit import time as clock
from redcard.models import (
    Event,
    EventRegistration,
    Membership,
    MembershipStatus,
    RegistrationStatus,
    Role,
)
from redcard.models.event_registration import SEAT_STATUSES
from tests.fixtures.factories import give_card, quick_user

MEMBERS = 6


def make_machine(url: str, channels: object) -> type[RuleBasedStateMachine]:
    class Seats(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.db = Database(url, pool_size=2)
            clock.freeze(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))

        def run(self, coro_factory):  # type: ignore[no-untyped-def]
            async def unit():  # type: ignore[no-untyped-def]
                try:
                    async with self.db.session_scope() as session:
                        return await coro_factory(session)
                except AppError as exc:
                    return exc

            return self.loop.run_until_complete(unit())

        @initialize(capacity=st.integers(1, 4))
        def setup(self, capacity: int) -> None:
            async def create(session):  # type: ignore[no-untyped-def]
                operator = quick_user(session, "运营", Role.operator)
                members = [quick_user(session, f"m{i}") for i in range(MEMBERS)]
                await session.flush()
                for m in members:
                    await give_card(session, m)
                start = clock.utc_now() + timedelta(days=2)
                event = await service.create_event(
                    session,
                    operator,
                    EventCreate(
                        title="t",
                        venue="v",
                        starts_at=start,
                        ends_at=start + timedelta(hours=1),
                        capacity=capacity,
                    ),
                )
                return operator, members, event.id

            self.operator, self.members, self.event_id = self.run(create)

        @rule(i=st.integers(0, MEMBERS - 1))
        def register(self, i: int) -> None:
            m = self.members[i]
            self.run(lambda s: service.register(s, channels, m, self.event_id, base_url="http://t"))

        @rule(i=st.integers(0, MEMBERS - 1))
        def cancel(self, i: int) -> None:
            m = self.members[i]
            self.run(lambda s: service.cancel_registration(s, m, self.event_id))

        @rule()
        def promote(self) -> None:
            self.run(lambda s: service.promote(s, self.event_id))

        @rule(capacity=st.integers(1, 6))
        def change_capacity(self, capacity: int) -> None:
            self.run(
                lambda s: service.update_event(
                    s, self.operator, self.event_id, EventUpdate(capacity=capacity)
                )
            )

        @rule(i=st.integers(0, MEMBERS - 1))
        def card_ends(self, i: int) -> None:
            m = self.members[i]

            async def end(session):  # type: ignore[no-untyped-def]
                card = await session.scalar(
                    select(Membership).where(
                        Membership.member_id == m.id, Membership.status == "active"
                    )
                )
                if card is not None:
                    card.status = MembershipStatus.suspended
                    await session.flush()
                return await service.release_for_member(session, m.id)

            self.run(end)

        @invariant()
        def seats_are_consistent(self) -> None:
            if not hasattr(self, "event_id"):
                return

            async def read(session):  # type: ignore[no-untyped-def]
                event = await session.get_one(Event, self.event_id)
                regs = (
                    await session.scalars(
                        select(EventRegistration).where(EventRegistration.event_id == self.event_id)
                    )
                ).all()
                return event, regs

            event, regs = self.run(read)
            held = [r for r in regs if r.status in SEAT_STATUSES]
            waiting = sorted(
                (r for r in regs if r.status == RegistrationStatus.waitlisted),
                key=lambda r: r.waitlist_position,
            )
            assert 0 <= event.registered <= event.capacity
            assert event.registered == len(held)
            assert len({r.member_id for r in regs}) == len(regs)
            if waiting:
                assert event.registered == event.capacity  # nobody waits for a free seat

        def teardown(self) -> None:
            self.loop.run_until_complete(self.db.dispose())
            self.loop.close()
            clock.unfreeze()

    return Seats


def test_seats_state_machine(settings, channels, db) -> None:  # type: ignore[no-untyped-def]
    """`db` is requested so the tables are emptied afterwards; the machine uses its own
    engine in its own event loop."""
    run_state_machine_as_test(
        make_machine(settings.database_url, channels),
        settings=hypothesis_settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
