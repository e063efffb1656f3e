"""Closing an account: the card ends and is refunded by its policy through the one refund
path, the member's personal data is gone from every column of every table, the money
records stay and `redcard ledger check` still passes; the account cannot log in and its
phone can sign up again as a new person."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import func, select

from redcard.models import (
    AuthSession,
    Event,
    Membership,
    MembershipStatus,
    Order,
    Payment,
    Refund,
    RefundReason,
    RegistrationStatus,
    StoreReview,
    User,
)
from tests.datarights.helpers import (
    Someone,
    every_value,
    found,
    member_with_everything,
    sign_up,
)
from tests.fixtures.factories import (
    PASSWORD,
    assert_ledger_ok,
    drain,
    idem,
    login,
    make_event,
    new_card_holder,
    new_operator,
    new_shop,
    registration_of,
    setup_plans,
)


def ledger_check(database_url: str) -> subprocess.CompletedProcess[str]:
    """`redcard ledger check` as an operator runs it, on the test's database."""
    env = os.environ | {"REDCARD_DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "redcard.cli", "ledger", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def two_members(client, db, sandbox, channels) -> tuple[Someone, Someone, Event]:  # type: ignore[no-untyped-def]
    """甲 and 乙, each with data in every table."""
    plans = await setup_plans(db)
    shop = await new_shop(db, discount_bp=1000)
    event = await make_event(db, title="会员专属品鉴会")
    kw = {"plans": plans, "shop": shop, "event": event}
    a = await member_with_everything(client, db, sandbox, channels, name="注销测试甲", **kw)
    b = await member_with_everything(client, db, sandbox, channels, name="保留测试乙", **kw)
    return a, b, event


async def test_closing_leaves_no_personal_data_and_the_books_balanced(
    client, db, sandbox, settings, channels, database_url
):
    a, b, event = await two_members(client, db, sandbox, channels)
    before = await every_value(db)
    assert found(before, a.phone), "the world holds the phone before closing"
    assert {t for t, _, _ in found(before, a.name)} >= {"users", "store_reviews"}
    preview = (await client.get("/api/v1/me/close", headers=a.headers)).json()
    assert preview["quote"]["amount_fen"] == 16800  # within the cooling-off period

    wrong = await client.post(
        "/api/v1/me/close", json={"password": "not-my-password"}, headers=a.headers | idem()
    )
    assert wrong.status_code == 422
    assert (await client.get("/api/v1/memberships/current", headers=a.headers)).status_code == 200

    key = idem()
    closed = await client.post(
        "/api/v1/me/close", json={"password": PASSWORD}, headers=a.headers | key
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["refund"]["amount_fen"] == 16800
    # the login that closed the account ended with it: a replay is not let in either
    assert (await client.get("/api/v1/auth/me", headers=a.headers)).status_code == 401
    replay = await client.post(
        "/api/v1/me/close", json={"password": PASSWORD}, headers=a.headers | key
    )
    assert replay.status_code == 401
    await drain(settings, db, channels, sandbox)  # the refunds carry on and settle

    values = await every_value(db)
    assert found(values, a.phone, a.name) == []
    assert found(values, b.phone)
    assert found(values, b.name)

    async with db.session_scope() as session:
        user = await session.get_one(User, a.user.id)
        assert user.closed_at is not None
        assert user.password_hash == "!"
        card = await session.scalar(select(Membership).where(Membership.member_id == a.user.id))
        assert card is not None
        assert card.status == MembershipStatus.refunded
        refunds = (
            await session.execute(
                select(Refund.reason, Refund.amount_fen, Refund.status)
                .join(Payment, Payment.id == Refund.payment_id)
                .join(Order, Order.id == Payment.order_id)
                .where(Order.member_id == a.user.id)
                .order_by(Refund.amount_fen)
            )
        ).all()
        # the undone bill's refund from before, and the card's own: both kept, both settled
        assert [(r.reason, r.amount_fen, r.status.value) for r in refunds] == [
            (RefundReason.store_bill_undo, 5220, "succeeded"),
            (RefundReason.self_service, 16800, "succeeded"),
        ]
        orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.member_id == a.user.id)
        )
        assert orders == 3  # the card and two bills: amounts and dates stay
        review = await session.scalar(select(StoreReview).where(StoreReview.member_id == a.user.id))
        assert review is not None
        assert (review.stars, review.body) == (4, "")
        other = await session.scalar(select(StoreReview).where(StoreReview.member_id == b.user.id))
        assert other is not None
        assert b.phone in other.body
        sessions = await session.scalar(
            select(func.count()).select_from(AuthSession).where(AuthSession.user_id == a.user.id)
        )
        assert sessions == 0
    registration = await registration_of(db, event.id, a.user)
    assert registration.status == RegistrationStatus.released

    checked = ledger_check(database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    await assert_ledger_ok(db)

    # the account cannot log in; its phone signs up again as a new person
    refused = await client.post("/api/v1/auth/login", json={"phone": a.phone, "password": PASSWORD})
    assert refused.status_code == 401
    again = await sign_up(client, db, "新的我")
    assert again.user.id != a.user.id
    anew = await client.post(
        "/api/v1/auth/signup",
        json={"phone": a.phone, "password": PASSWORD, "display_name": "重新注册"},
        headers=idem(),
    )
    assert anew.status_code == 201, anew.text
    assert uuid.UUID(anew.json()["id"]) != a.user.id
    fresh = await client.post("/api/v1/auth/login", json={"phone": a.phone, "password": PASSWORD})
    assert fresh.status_code == 200
    mine = await client.get(
        "/api/v1/orders", headers={"Authorization": f"Bearer {fresh.json()['token']}"}
    )
    assert mine.json() == []  # a new person: none of the old account's orders


@pytest.mark.postgres_only
async def test_parallel_closings_close_once_and_refund_once(client, db, sandbox, world_factory):
    w = await world_factory(1)
    h = w.member_h[0]
    results = await asyncio.gather(
        *(
            client.post("/api/v1/me/close", json={"password": PASSWORD}, headers=h | idem())
            for _ in range(4)
        )
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1, [r.text for r in results]
    assert set(codes) <= {200, 401, 409}
    async with db.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(Refund)) == 1
        user = await session.get_one(User, w.members[0].id)
        assert user.closed_at is not None


async def test_a_trial_member_closes_without_a_refund_and_staff_cannot_close_here(client, db):
    member = await new_card_holder(db, name="体验会员", trial=True)
    h = await login(client, member)
    preview = (await client.get("/api/v1/me/close", headers=h)).json()
    assert preview == {"quote": None}
    done = await client.post("/api/v1/me/close", json={"password": PASSWORD}, headers=h | idem())
    assert done.status_code == 200, done.text
    assert done.json()["refund"] is None
    async with db.session_scope() as session:
        card = await session.scalar(select(Membership).where(Membership.member_id == member.id))
        assert card is not None
        assert card.status == MembershipStatus.expired
    operator = await new_operator(db)
    oh = await login(client, operator)
    refused = await client.post(
        "/api/v1/me/close", json={"password": PASSWORD}, headers=oh | idem()
    )
    assert refused.status_code == 403
    assert (await client.get("/api/v1/auth/me", headers=oh)).status_code == 200
