"""The till's PostgreSQL fast path (statements on the request's asyncpg connection) and the
commit's single idempotency write: same outcomes as the SQLAlchemy path, one transaction."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from redcard.kit import rawpg
from redcard.kit import time as clock
from redcard.ledger.accounts import Account
from redcard.ledger.service import Entry, Line, balance, post_one
from redcard.models import (
    CodeBurn,
    IdempotencyKey,
    JournalEntry,
    JournalLine,
    Redemption,
    RedemptionStatus,
)
from tests.fixtures.factories import (
    assert_ledger_ok,
    code_for,
    count,
    idem,
    new_card_holder,
    new_till_shop,
    till,
)

NOON = datetime(2026, 11, 25, 4, 0, 5, tzinfo=UTC)


async def _prepared(client, db, shop, member) -> str:
    r = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_fen": 10000},
        headers=till(shop),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_the_fast_path_is_taken_on_postgresql_only_and_inside_the_transaction(db, backend):
    async with db.sessionmaker() as session:
        raw = await rawpg.connection(session)
        if backend == "sqlite":
            assert raw is None
            return
        assert raw is not None
        assert raw.is_in_transaction()
        assert await rawpg.connection(session) is raw  # looked up once per transaction
        entry = Entry(
            "test",
            "rolled-back",
            [
                Line(Account.member_savings, -5, "m"),
                Line(Account.merchant_discounts_funded, 5, "x"),
            ],
        )
        await post_one(session, entry)
        await session.rollback()  # what the request scope does when the endpoint raises
    assert await count(db, JournalEntry) == 0
    assert await count(db, JournalLine) == 0


async def test_post_one_writes_what_post_writes(db):
    lines = [
        Line(Account.member_savings, -300, "member-1"),
        Line(Account.member_savings, -200, "member-1"),
        Line(Account.merchant_discounts_funded, 500, "merchant-1"),
    ]
    async with db.session_scope() as session:
        await post_one(session, Entry("test", "one", lines, memo="memo"))
        await post_one(
            session,
            Entry(
                "test",
                "two",
                lines[1:2] + [Line(Account.merchant_discounts_funded, 200, "merchant-1")],
            ),
        )
    async with db.session_scope() as session:
        assert await balance(session, Account.member_savings, "member-1") == -700
        assert await balance(session, Account.merchant_discounts_funded, "merchant-1") == 700
        memo = await session.scalar(select(JournalEntry.memo).where(JournalEntry.ref == "one"))
        assert memo == "memo"
    assert await count(db, JournalLine) == 5
    await assert_ledger_ok(db)


async def test_a_commit_key_reused_for_another_redemption_is_refused_and_changes_nothing(
    client, db
):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    first = await _prepared(client, db, shop, await new_card_holder(db))
    second = await _prepared(client, db, shop, await new_card_holder(db))
    key = idem()
    done = await client.post(f"/api/v1/redemptions/{first}/commit", headers=till(shop) | key)
    assert done.status_code == 200, done.text
    reused = await client.post(f"/api/v1/redemptions/{second}/commit", headers=till(shop) | key)
    assert reused.status_code == 409
    assert reused.json()["error"] == "IdempotencyKeyReused"
    async with db.session_scope() as session:
        status = await session.scalar(
            select(Redemption.status).where(Redemption.id == uuid.UUID(second))
        )
    assert status == RedemptionStatus.prepared  # its commit rolled back with the refusal
    assert await count(db, CodeBurn) == 1
    assert await count(db, JournalEntry) == 1
    assert await count(db, IdempotencyKey) == 1
    retry = await client.post(f"/api/v1/redemptions/{second}/commit", headers=till(shop) | idem())
    assert retry.status_code == 200, retry.text
    await assert_ledger_ok(db)


async def test_a_refused_commit_stores_nothing_and_its_key_stays_usable(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    other = await new_till_shop(db, name="别家")
    rid = await _prepared(client, db, shop, await new_card_holder(db))
    key = idem()
    wrong_store = await client.post(f"/api/v1/redemptions/{rid}/commit", headers=till(other) | key)
    assert wrong_store.status_code == 404
    assert await count(db, IdempotencyKey) == 0
    done = await client.post(f"/api/v1/redemptions/{rid}/commit", headers=till(shop) | key)
    assert done.status_code == 200, done.text
    again = await client.post(f"/api/v1/redemptions/{rid}/commit", headers=till(shop) | key)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == done.json()


@pytest.mark.postgres_only
async def test_twenty_concurrent_commits_with_one_key_commit_once_and_all_get_it(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    rid = await _prepared(client, db, shop, await new_card_holder(db))
    headers = till(shop) | idem()
    responses = await asyncio.gather(
        *[client.post(f"/api/v1/redemptions/{rid}/commit", headers=headers) for _ in range(20)]
    )
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert await count(db, CodeBurn) == 1
    assert await count(db, JournalEntry) == 1
    await assert_ledger_ok(db)
