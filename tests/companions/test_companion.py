"""The companion card: the primary invites one household companion by phone, the companion
accepts and uses their own member code on the primary's card; only the primary renews, refunds
or removes; the code stops when removed or when the card ends; one card per companion, and
never a holder and a companion at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from redcard.companions.service import forget_person
from redcard.kit import time as clock
from redcard.kit.time import utc_now
from redcard.ledger.accounts import Account
from redcard.ledger.service import balance
from redcard.models import Companion, CompanionStatus, Notification, PlanKind
from tests.companions.helpers import accept, invite, pair, prepare, redeem
from tests.fixtures.factories import (
    assert_ledger_ok,
    code_for,
    create_member,
    drain,
    give_card,
    idem,
    login,
    new_till_shop,
    new_user,
    till,
)


async def _notes(db, user) -> list[str]:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        rows = await session.scalars(
            select(Notification.template).where(Notification.user_id == user.id)
        )
        return list(rows)


async def test_companion_code_uses_the_primary_card_and_savings(client, db, sandbox, world_factory):
    w = await world_factory(1)
    primary, primary_h = w.members[0], w.member_h[0]
    friend = await new_user(db, name="阿花")
    friend_h = await login(client, friend)
    shop = await new_till_shop(db, discount_bp=1000)

    # no card, no code: before accepting, the friend's code does not work
    assert (await client.get("/api/v1/me/code", headers=friend_h)).status_code == 404
    sent = await invite(client, primary_h, friend)
    assert sent["status"] == "pending"
    assert sent["phone"] == f"{friend.phone[:3]}****{friend.phone[-4:]}"
    assert await _notes(db, friend) == ["companion_invited"]
    state = (await client.get("/api/v1/me/companion", headers=friend_h)).json()
    assert [i["id"] for i in state["invitations"]] == [sent["id"]]
    assert state["invitations"][0]["primary"] == primary.masked_name

    accepted = await accept(client, friend_h, sent["id"])
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["usable"] is True
    assert "companion_accepted" in await _notes(db, primary)
    mine = (await client.get("/api/v1/me/companion", headers=primary_h)).json()
    assert mine["companion"]["status"] == "active"
    assert mine["companion"]["name"] == "阿花"

    # the friend's own code works at the till, shown with the friend's masked name
    done = await redeem(client, till(shop), await code_for(db, friend))
    assert done["member"] == friend.masked_name
    assert done["discount_fen"] == 1000
    # the primary's own code still works too, in the same 30 s step
    await redeem(client, till(shop), await code_for(db, primary))
    async with db.session_scope() as session:
        # both uses count toward the primary's savings; the friend has none of their own
        assert await balance(session, Account.member_savings, str(primary.id)) == -2000
        assert await balance(session, Account.member_savings, str(friend.id)) == 0
    friend_code = (await client.get("/api/v1/me/code", headers=friend_h)).json()
    assert friend_code["savings_fen"] == 2000
    assert friend_code["card_price_fen"] == 16800

    # an undo takes the saving back from the primary's account
    undone = await client.post(
        f"/api/v1/redemptions/{done['id']}/undo", headers=till(shop) | idem()
    )
    assert undone.status_code == 200, undone.text
    async with db.session_scope() as session:
        assert await balance(session, Account.member_savings, str(primary.id)) == -1000
    await assert_ledger_ok(db)

    # the companion sees the shared card and its code on "my card"
    page = await client.get("/card", headers=friend_h)
    assert "member-code" in page.text
    assert primary.masked_name in page.text


async def test_only_the_primary_renews_refunds_or_removes(client, db, sandbox, world_factory):
    w = await world_factory(1)
    primary_h = w.member_h[0]
    friend = await new_user(db, name="阿花")
    friend_h = await login(client, friend)
    await pair(client, primary_h, friend, friend_h)

    removed = await client.delete("/api/v1/me/companion", headers=friend_h | idem())
    assert removed.status_code == 403
    assert removed.json()["error"] == "OnlyTheHolder"
    refund = await client.post("/api/v1/refunds", headers=friend_h | idem())
    assert refund.status_code == 403
    assert refund.json()["error"] == "OnlyTheHolder"
    quote = await client.get("/api/v1/refunds/quote", headers=friend_h)
    assert quote.status_code == 403
    renew = await client.post(
        "/api/v1/orders", json={"plan_id": str(w.plans.annual.id)}, headers=friend_h | idem()
    )
    assert renew.status_code == 409
    assert renew.json()["error"] == "StillACompanion"
    assert "not both" in renew.json()["detail"]
    trial = await client.post(
        "/api/v1/trials", json={"plan_id": str(w.plans.trial.id)}, headers=friend_h | idem()
    )
    assert trial.status_code == 409
    invite_other = await client.post(
        "/api/v1/me/companion/invitations", json={"phone": "13912345678"}, headers=friend_h | idem()
    )
    assert invite_other.status_code == 403
    # nothing changed: still the primary's companion
    mine = (await client.get("/api/v1/me/companion", headers=primary_h)).json()
    assert mine["companion"]["status"] == "active"

    # the primary removes: replayed with the same key, removed once
    key = idem()
    first = await client.delete("/api/v1/me/companion", headers=primary_h | key)
    again = await client.delete("/api/v1/me/companion", headers=primary_h | key)
    assert first.status_code == 200
    assert again.json() == first.json()
    assert first.json()["status"] == "removed"
    assert "companion_removed" in await _notes(db, friend)


async def test_removal_stops_the_code_at_once(client, db, sandbox, world_factory):
    w = await world_factory(1)
    friend = await new_user(db, name="阿花")
    friend_h = await login(client, friend)
    shop = await new_till_shop(db)
    await pair(client, w.member_h[0], friend, friend_h)
    # a preview made before the removal cannot be committed after it
    preview = await prepare(client, till(shop), await code_for(db, friend))
    assert preview.status_code == 201, preview.text
    assert (await client.delete("/api/v1/me/companion", headers=w.member_h[0] | idem())).is_success
    late = await client.post(
        f"/api/v1/redemptions/{preview.json()['id']}/commit", headers=till(shop) | idem()
    )
    assert late.status_code == 409
    assert late.json()["error"] == "CardNotUsable"
    refused = await prepare(client, till(shop), await code_for(db, friend, step_offset=1))
    assert refused.status_code == 409
    assert refused.json()["error"] == "CardNotUsable"
    assert (await client.get("/api/v1/me/code", headers=friend_h)).status_code == 404
    async with db.session_scope() as session:
        assert await balance(session, Account.member_savings, str(w.members[0].id)) == 0


async def test_the_code_stops_when_the_card_expires_or_is_refunded(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(2)
    shop = await new_till_shop(db)
    friends = [await new_user(db, name=f"亲友{i}") for i in range(2)]
    friend_h = [await login(client, f) for f in friends]
    for i in range(2):
        await pair(client, w.member_h[i], friends[i], friend_h[i])
        assert (await prepare(client, till(shop), await code_for(db, friends[i]))).is_success

    # the first primary gives the card back: the companion's code stops with it
    assert (await client.post("/api/v1/refunds", headers=w.member_h[0] | idem())).is_success
    stopped = await prepare(client, till(shop), await code_for(db, friends[0], step_offset=1))
    assert stopped.json()["error"] == "CardNotUsable"
    await drain(settings, db, channels, sandbox)

    # the second primary's card simply runs out
    clock.freeze(utc_now() + timedelta(days=366))
    for_login = await login(client, friends[1])  # a year on: log in again
    expired = await prepare(client, till(shop), await code_for(db, friends[1]))
    assert expired.status_code == 409
    assert expired.json()["error"] == "CardNotUsable"
    shared = (await client.get("/api/v1/me/companion", headers=for_login)).json()["sharing"]
    assert shared["usable"] is False
    # a companionship whose card has ended no longer stops the companion buying their own
    bought = await client.post(
        "/api/v1/orders", json={"plan_id": str(w.plans.annual.id)}, headers=for_login | idem()
    )
    assert bought.status_code == 201, bought.text
    async with db.session_scope() as session:
        link = await session.scalar(
            select(Companion).where(Companion.companion_id == friends[1].id)
        )
        assert link is not None
        assert link.status == CompanionStatus.ended


async def test_one_card_per_companion_and_never_holder_and_companion(
    client, db, sandbox, world_factory
):
    w = await world_factory(3)
    friend = await new_user(db, name="阿花")
    friend_h = await login(client, friend)
    first = await invite(client, w.member_h[0], friend)
    second = await invite(client, w.member_h[1], friend)
    # a primary has one companion (or invitation) at a time, and cannot invite themselves
    twice = await client.post(
        "/api/v1/me/companion/invitations",
        json={"phone": "13912345678"},
        headers=w.member_h[0] | idem(),
    )
    assert twice.status_code == 409
    assert twice.json()["error"] == "CompanionAlreadyInvited"
    me = await client.post(
        "/api/v1/me/companion/invitations",
        json={"phone": w.members[2].phone},
        headers=w.member_h[2] | idem(),
    )
    assert me.status_code == 422
    assert me.json()["error"] == "CannotInviteYourself"
    self_invite = await client.post(
        "/api/v1/me/companion/invitations",
        json={"phone": w.members[1].phone},
        headers=friend_h | idem(),
    )
    assert self_invite.status_code == 409  # no card of their own: nothing to share
    assert self_invite.json()["error"] == "NotCardHolder"

    assert (await accept(client, friend_h, first["id"])).status_code == 200
    # the other invitation to the same number ends: its sender may invite someone else
    late = await accept(client, friend_h, second["id"])
    assert late.status_code == 409  # ended when the first was accepted
    assert (await invite(client, w.member_h[1], w.members[0]))["status"] == "pending"
    # a holder cannot accept
    holder = await login(client, w.members[0])
    state = (await client.get("/api/v1/me/companion", headers=holder)).json()
    refused = await accept(client, holder, state["invitations"][0]["id"])
    assert refused.status_code == 409
    assert "hold a card yourself" in refused.json()["detail"]

    # the database refuses a second active companionship for one person, whatever the code
    async with db.session_scope() as session:
        session.add(
            Companion(
                primary_id=w.members[2].id,
                companion_id=friend.id,
                status=CompanionStatus.active,
                accepted_at=utc_now(),
            )
        )
        with pytest.raises(IntegrityError):
            await session.flush()
        await session.rollback()


async def test_a_new_person_signs_up_then_accepts(client, db, sandbox):
    async with db.session_scope() as session:
        primary = await create_member(session, name="大红")
        await give_card(session, primary, PlanKind.paid)
    primary_h = await login(client, primary)
    sent = await client.post(
        "/api/v1/me/companion/invitations",
        json={"phone": "139 0000 7777"},
        headers=primary_h | idem(),
    )
    assert sent.status_code == 201, sent.text

    page = await client.get("/signup")
    csrf = client.cookies.get("redcard_csrf")
    assert page.status_code == 200
    assert csrf
    signed = await client.post(
        "/signup",
        data={
            "csrf": csrf,
            "phone": "13900007777",
            "password": "correct-horse-9",
            "display_name": "新人",
        },
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/card/companion"
    invited = await client.get("/card/companion")
    assert "大** (" in invited.text
    state = (await client.get("/api/v1/me/companion")).json()
    accepted = await client.post(
        f"/card/companion/invitations/{state['invitations'][0]['id']}/accept",
        data={"csrf": client.cookies.get("redcard_csrf"), "idempotency_key": "accept-newcomer-1"},
    )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/card"
    card = await client.get("/card")
    assert "member-code" in card.text


async def test_closing_an_account_forgets_its_companionships(client, db, sandbox, world_factory):
    """`forget_person` (for account closure) ends the person's companionships and drops the
    phone numbers invitations keep."""
    w = await world_factory(2)
    friend = await new_user(db, name="阿花")
    await pair(client, w.member_h[0], friend, await login(client, friend))
    stranger = await new_user(db, name="路人")
    await invite(client, w.member_h[1], stranger)
    async with db.session_scope() as session:
        assert await forget_person(session, friend) == 1
        assert await forget_person(session, stranger) == 1
    async with db.session_scope() as session:
        links = list(await session.scalars(select(Companion)))
    assert {link.status for link in links} == {CompanionStatus.ended}
    assert {link.phone for link in links} == {None}
