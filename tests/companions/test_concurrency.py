"""On PostgreSQL, racing requests leave the companion card consistent: a person is the active
companion of one card at most, an accept racing a removal ends removed, and a person never ends
up both holding a card and being a companion."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from redcard.models import Companion, CompanionStatus, Membership, MembershipStatus, Refund
from tests.companions.helpers import accept, invite
from tests.fixtures.factories import idem, login, new_user, out_trade_no

pytestmark = pytest.mark.postgres_only


async def _links(db, **where) -> list[Companion]:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        stmt = select(Companion).filter_by(**where)
        return list(await session.scalars(stmt))


async def test_two_primaries_one_person_at_most_one_companionship(client, db, world_factory):
    w = await world_factory(4)
    for round_ in range(2):  # two people, each invited by two primaries and accepting both
        friend = await new_user(db, name=f"亲友{round_}")
        friend_h = await login(client, friend)
        primaries = w.member_h[2 * round_ : 2 * round_ + 2]
        sent = await asyncio.gather(*(invite(client, h, friend) for h in primaries))
        answers = await asyncio.gather(*(accept(client, friend_h, s["id"]) for s in sent))
        assert sorted(a.status_code for a in answers)[0] == 200
        assert sum(a.status_code == 200 for a in answers) == 1
        active = await _links(db, companion_id=friend.id, status=CompanionStatus.active)
        assert len(active) == 1
        # the loser's slot is free again (its invitation ended)
        mine = [
            (await client.get("/api/v1/me/companion", headers=h)).json()["companion"]
            for h in primaries
        ]
        assert sorted(str(m and m["status"]) for m in mine) == ["None", "active"]


async def test_one_primary_inviting_twice_at_once_keeps_one_invitation(client, db, world_factory):
    w = await world_factory(1)
    people = [await new_user(db, name=f"亲友{i}") for i in range(4)]
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/v1/me/companion/invitations",
                json={"phone": p.phone},
                headers=w.member_h[0] | idem(),
            )
            for p in people
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert len(await _links(db, primary_id=w.members[0].id)) == 1


async def test_accept_racing_remove_ends_removed(client, db, world_factory):
    w = await world_factory(3)
    for i in range(3):
        friend = await new_user(db, name=f"亲友{i}")
        friend_h = await login(client, friend)
        sent = await invite(client, w.member_h[i], friend)
        accepted, removed = await asyncio.gather(
            accept(client, friend_h, sent["id"]),
            client.delete("/api/v1/me/companion", headers=w.member_h[i] | idem()),
        )
        assert removed.status_code == 200, removed.text
        assert accepted.status_code in (200, 409), accepted.text
        (link,) = await _links(db, primary_id=w.members[i].id)
        assert link.status == CompanionStatus.removed
        assert link.phone is None
        # accepted first: the companion was recorded, then removed; refused: nobody was
        assert (link.companion_id == friend.id) == (accepted.status_code == 200)
        assert (await client.get("/api/v1/me/code", headers=friend_h)).status_code == 404


async def test_accept_racing_own_card_never_both(client, db, sandbox, world_factory):
    """The invitee's own card is being paid for while they accept: they end up either the
    companion (their payment refunded) or a holder (the invitation refused), never both."""
    w = await world_factory(3)
    for i in range(3):
        friend = await new_user(db, name=f"亲友{i}")
        friend_h = await login(client, friend)
        order = await client.post(
            "/api/v1/orders", json={"plan_id": str(w.plans.annual.id)}, headers=friend_h | idem()
        )
        assert order.status_code == 201, order.text
        sent = await invite(client, w.member_h[i], friend)
        await sandbox.pay(out_trade_no(order.json()["pay_url"]))
        async with db.session_scope() as session:
            refunds_before = await session.scalar(select(func.count()).select_from(Refund))
        accepted, _ = await asyncio.gather(
            accept(client, friend_h, sent["id"]), sandbox.flush_notifications()
        )
        async with db.session_scope() as session:
            cards = await session.scalar(
                select(func.count()).where(
                    Membership.member_id == friend.id,
                    Membership.status == MembershipStatus.active,
                )
            )
            refunds = await session.scalar(select(func.count()).select_from(Refund))
        links = await _links(db, companion_id=friend.id, status=CompanionStatus.active)
        if accepted.status_code == 200:
            assert (cards, len(links)) == (0, 1)
            assert refunds == refunds_before + 1  # their payment goes back
        else:
            assert accepted.status_code == 409, accepted.text
            assert (cards, len(links)) == (1, 0)
            assert refunds == refunds_before
