from __future__ import annotations

from redcard.events import demo, stats
from redcard.events import repository as repo
from redcard.kit.time import utc_now
from redcard.models import PlanKind
from tests.fixtures.factories import card_holders, new_operator


async def test_demo_has_upcoming_events_some_full_with_a_waitlist(db, channels):
    await new_operator(db)
    await card_holders(db, 24)
    await card_holders(db, 6, kind=PlanKind.trial)
    assert await demo.seed(db, channels, "http://test", member_phone="13900000000") == 5
    async with db.session_scope() as session:
        events = await repo.list_upcoming(session, utc_now())
        rows = await stats.for_events(session, events)
    assert len(rows) == 5
    full = [r for r in rows if r.registrations == r.capacity and r.waitlist > 0]
    assert len(full) >= 2
    assert any(e.price_fen > 0 for e in events)
    assert all(r.registrations <= r.capacity for r in rows)
