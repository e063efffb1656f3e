"""An event's times as people read them are the programme zone's and name it: the member's
messages, the event page and the organisers' CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from redcard.events import stats
from redcard.kit import time as clock
from redcard.models import Notification
from tests.fixtures.factories import card_holders, make_event, register

STARTS = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai


async def test_an_events_times_are_the_programme_zones_and_say_so(client, db, channels) -> None:  # type: ignore[no-untyped-def]
    clock.freeze(STARTS - timedelta(days=3))
    event = await make_event(db, starts_at=STARTS, ends_at=STARTS + timedelta(hours=2))
    (member,) = await card_holders(db, 1)
    await register(db, channels, member, event.id)

    async with db.session_scope() as session:
        params = await session.scalar(
            select(Notification.params).where(Notification.template == "event_registered")
        )
        exported = stats.stats_csv(await stats.for_events(session, [event]))
    assert params is not None
    assert params["starts_at"] == "2026-12-01 19:00 UTC+8"
    assert "2026-12-01 19:00:00+08:00" in exported
    page = await client.get(f"/events/{event.id}", headers={"accept": "text/html"})
    assert "2026-12-01 19:00 – 21:00 UTC+8" in page.text

    with clock.in_zone("Europe/London"):  # a zone with summer time: pages name it
        page = await client.get(f"/events/{event.id}", headers={"accept": "text/html"})
        async with db.session_scope() as session:
            exported = stats.stats_csv(await stats.for_events(session, [event]))
    assert "2026-12-01 11:00 – 13:00 Europe/London" in page.text
    assert "2026-12-01 11:00:00+00:00" in exported
