"""The notification outbox: one message a sink refuses never holds up the others."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard import notifications
from redcard.delivery import service as delivery
from redcard.delivery import sinks
from redcard.delivery.sinks import Outgoing
from redcard.kit import time as clock
from redcard.kit.retry import MAX_ATTEMPTS, backoff
from redcard.models import Notification, NotificationDelivery
from tests.fixtures.factories import new_user

for _template in ("welcome", "broken", "card_expiring", "flaky"):
    notifications.message(_template, f"{_template} subject", f"{_template} body")


class PickySink:
    """Refuses any batch holding a message whose template it cannot render."""

    name = "picky"

    def __init__(self, refuse: dict[str, Exception]) -> None:
        self.refuse = refuse
        self.delivered: list[str] = []

    def accepts(self, user: object) -> bool:
        return True

    async def send(
        self, session: AsyncSession, batch: Sequence[Outgoing]
    ) -> Mapping[str, Exception]:
        for out in batch:
            if out.template in self.refuse:
                raise self.refuse[out.template]
        self.delivered.extend(o.template for o in batch)
        return {}


@pytest.fixture
def sink() -> Iterator[PickySink]:
    picky = PickySink(
        {"broken": RuntimeError("template 'broken' has no text"), "flaky": OSError("smtp down")}
    )
    sinks.use_sink(picky)
    yield picky
    sinks.use_sink(sinks.InboxSink())


async def _enqueue(db, templates: list[str]) -> None:  # type: ignore[no-untyped-def]
    member = await new_user(db)
    async with db.session_scope() as session:
        for template in templates:
            notifications.enqueue(session, member.id, template)


async def _rows(db) -> dict[str, Notification]:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        return {n.template: n for n in await session.scalars(select(Notification))}


async def _delivery(db, template: str) -> NotificationDelivery:  # type: ignore[no-untyped-def]
    """The message's delivery through the sink: its attempts and retry time are its own."""
    async with db.session_scope() as session:
        return (
            await session.scalars(
                select(NotificationDelivery)
                .join(Notification, Notification.id == NotificationDelivery.notification_id)
                .where(Notification.template == template)
            )
        ).one()


async def test_a_poison_message_goes_to_the_exceptions_queue_and_the_rest_are_sent(
    db, sink: PickySink
) -> None:  # type: ignore[no-untyped-def]
    await _enqueue(db, ["welcome", "broken", "card_expiring"])
    async with db.session_scope() as session:
        assert await delivery.send_pending(session) == 2
    assert sorted(sink.delivered) == ["card_expiring", "welcome"]
    rows = await _rows(db)
    assert rows["broken"].sent_at is None
    assert rows["broken"].failed_at is not None  # retrying cannot mend a missing template
    assert rows["broken"].last_error == "RuntimeError: template 'broken' has no text"
    async with db.session_scope() as session:
        assert await delivery.send_pending(session) == 0  # nothing left due
        failed = await delivery.list_failed(session)
    assert [d.notification_id for d in failed] == [rows["broken"].id]


async def test_a_passing_failure_is_retried_with_backoff_then_set_aside(
    db, sink: PickySink
) -> None:  # type: ignore[no-untyped-def]
    clock.freeze(clock.utc_now())
    await _enqueue(db, ["flaky", "welcome"])
    async with db.session_scope() as session:
        assert await delivery.send_pending(session) == 1
    flaky = await _delivery(db, "flaky")
    assert (flaky.attempts, flaky.failed_at) == (1, None)
    assert flaky.next_attempt_at == clock.utc_now() + backoff(1)
    assert (await _rows(db))["flaky"].sent_at is None
    async with db.session_scope() as session:
        assert await delivery.send_pending(session) == 0  # not due yet
    assert (await _delivery(db, "flaky")).attempts == 1

    sink.refuse.pop("flaky")  # the SMTP server is back
    clock.advance(backoff(1))
    async with db.session_scope() as session:
        assert await delivery.send_pending(session) == 1
    assert sink.delivered == ["welcome", "flaky"]
    assert (await _rows(db))["flaky"].sent_at is not None


async def test_a_failure_that_lasts_ends_in_the_exceptions_queue(db, sink: PickySink) -> None:  # type: ignore[no-untyped-def]
    clock.freeze(clock.utc_now())
    await _enqueue(db, ["flaky"])
    for attempt in range(1, MAX_ATTEMPTS + 1):
        async with db.session_scope() as session:
            assert await delivery.send_pending(session) == 0
        clock.advance(backoff(attempt))
    flaky = (await _rows(db))["flaky"]
    assert flaky.attempts == MAX_ATTEMPTS
    assert flaky.failed_at is not None
    assert flaky.last_error == "OSError: smtp down"
