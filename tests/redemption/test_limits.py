"""Limits under concurrency (PostgreSQL), the brute-force limiter, and money edges."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from redcard.kit import time as clock
from redcard.kit.money import MAX_BILL_FEN, discount_fen
from redcard.merchants.service import uses_by_store
from redcard.models import (
    CodeBurn,
    CodeLock,
    JournalEntry,
    Redemption,
    RedemptionStatus,
    Store,
    Terminal,
)
from redcard.redemption.service import commit
from redcard.redemption.till import TerminalRef, Till, hash_api_key
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


async def _prepare(client, shop, code, bill_fen=10000):
    r = await client.post(
        "/api/v1/redemptions/prepare", json={"code": code, "bill_fen": bill_fen}, headers=till(shop)
    )
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def _commit_in_own_session(db, shop, redemption_id) -> str:
    async with db.sessionmaker() as session:
        terminal = await session.get_one(Terminal, shop.terminal_id)
        try:
            ref = TerminalRef(terminal.id, terminal.store_id)
            await commit(session, Till(ip="10.0.0.1", terminal=ref), redemption_id)
            await session.commit()
            return "ok"
        except Exception as exc:
            await session.rollback()
            return type(exc).__name__


@pytest.mark.postgres_only
async def test_fifty_parallel_commits_of_one_redemption_commit_once(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    rid = await _prepare(client, shop, await code_for(db, member))
    results = await asyncio.gather(*[_commit_in_own_session(db, shop, rid) for _ in range(50)])
    assert results.count("ok") == 1, results
    assert set(results) == {"ok", "AlreadyCommitted"}
    assert await count(db, CodeBurn) == 1
    assert await count(db, JournalEntry) == 1
    async with db.session_scope() as session:
        assert await uses_by_store(session, [shop.store.id]) == {shop.store.id: 1}
    await assert_ledger_ok(db)


@pytest.mark.postgres_only
async def test_fifty_parallel_commits_over_http_with_different_keys(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    rid = await _prepare(client, shop, await code_for(db, member))
    responses = await asyncio.gather(
        *[
            client.post(f"/api/v1/redemptions/{rid}/commit", headers=till(shop) | idem())
            for _ in range(50)
        ]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1, codes
    assert codes.count(409) == 49, codes
    assert await count(db, JournalEntry) == 1


@pytest.mark.postgres_only
async def test_same_code_at_two_stores_at_once_commits_once(client, db):
    clock.freeze(NOON)
    a = await new_till_shop(db, name="A")
    b = await new_till_shop(db, name="B")
    member = await new_card_holder(db)
    code = await code_for(db, member)
    ra = await _prepare(client, a, code)
    rb = await _prepare(client, b, code)
    results = await asyncio.gather(
        _commit_in_own_session(db, a, ra), _commit_in_own_session(db, b, rb)
    )
    assert sorted(results) == ["InvalidCode", "ok"], results
    assert await count(db, CodeBurn) == 1
    assert await count(db, JournalEntry) == 1
    async with db.session_scope() as session:
        statuses = sorted(
            [
                (await session.get_one(Redemption, ra)).status,
                (await session.get_one(Redemption, rb)).status,
            ]
        )
    assert statuses == [RedemptionStatus.committed, RedemptionStatus.prepared]


async def test_a_thousand_random_codes_trip_the_limiter_and_redeem_nothing(client, db):
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    member = await new_card_holder(db)
    real = await code_for(db, member)
    rng = random.Random(7)
    statuses = []
    for _ in range(1000):
        guess = f"{rng.randrange(10**13):013d}"
        r = await client.post(
            "/api/v1/redemptions/prepare",
            json={"code": guess, "bill_fen": 1000},
            headers=till(shop),
        )
        statuses.append(r.status_code)
        if r.status_code == 201:
            pytest.fail("a random code was accepted")
    assert statuses[:10] == [422] * 10
    assert set(statuses[10:]) == {429}
    assert await count(db, CodeLock) >= 1
    # while locked even the real code is not checked
    locked = await client.post(
        "/api/v1/redemptions/prepare", json={"code": real, "bill_fen": 1000}, headers=till(shop)
    )
    assert locked.status_code == 429
    assert locked.json()["error"] == "TillLocked"
    assert await count(db, Redemption) == 0
    # the lock is brief
    clock.advance(timedelta(minutes=11))
    fresh = await code_for(db, member)
    assert (await _prepare(client, shop, fresh)) is not None


@pytest.mark.parametrize(
    ("bill", "status", "discount"),
    [
        ({"bill_fen": 1}, 201, 0),
        ({"bill_yuan": "0.01"}, 201, 0),
        ({"bill_fen": 10}, 201, 1),
        ({"bill_yuan": "99999999.99"}, 201, 999_999_999),
        ({"bill_yuan": "１２８.５０"}, 201, 1285),
        ({"bill_fen": MAX_BILL_FEN}, 201, 999_999_999),
        ({"bill_fen": 0}, 422, None),
        ({"bill_yuan": "0"}, 422, None),
        ({"bill_fen": -100}, 422, None),
        ({"bill_yuan": "-1"}, 422, None),
        ({"bill_fen": 12.5}, 422, None),
        ({"bill_yuan": "1.005"}, 422, None),
        ({"bill_fen": "100"}, 422, None),
        ({"bill_yuan": "abc"}, 422, None),
        ({"bill_yuan": "100000000"}, 422, None),
        ({"bill_fen": MAX_BILL_FEN + 1}, 422, None),
        ({"bill_fen": 100, "bill_yuan": "1"}, 422, None),
        ({}, 422, None),
    ],
)
async def test_money_edges(client, db, bill, status, discount):
    clock.freeze(NOON)
    shop = await new_till_shop(db, discount_bp=1000)
    member = await new_card_holder(db)
    r = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member)} | bill,
        headers=till(shop),
    )
    assert r.status_code == status, r.text
    if status == 201:
        body = r.json()
        assert body["discount_fen"] == discount
        assert body["discount_fen"] + body["charged_fen"] == body["bill_fen"]
        done = await client.post(
            f"/api/v1/redemptions/{body['id']}/commit", headers=till(shop) | idem()
        )
        assert done.status_code == 200
        assert await count(db, JournalEntry) == (1 if discount else 0)
    else:
        assert set(r.json()) == {"error", "detail"}
        assert await count(db, Redemption) == 0
        assert await count(db, JournalEntry) == 0


@given(
    bill=st.integers(min_value=0, max_value=MAX_BILL_FEN),
    rate=st.integers(min_value=1000, max_value=9000),
    cap=st.one_of(st.none(), st.integers(min_value=1, max_value=MAX_BILL_FEN)),
    min_bill=st.integers(min_value=0, max_value=100_000),
)
@settings(max_examples=500, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_discount_plus_charged_is_the_bill_and_honours_cap_and_rounding(bill, rate, cap, min_bill):
    store = Store(discount_bp=rate, discount_cap_fen=cap, min_bill_fen=min_bill)
    discount = store.discount_for(bill)
    charged = bill - discount
    assert discount + charged == bill
    assert 0 <= discount <= bill
    if bill < min_bill:
        assert discount == 0
        return
    exact = bill * rate / 10_000
    assert discount <= exact  # rounded down: never more than the advertised rate
    if cap is not None:
        assert discount <= cap
        assert discount == min(cap, bill * rate // 10_000)
    else:
        assert exact - discount < 1  # and never a whole fen less
    assert discount == discount_fen(bill, rate, cap)


async def test_failures_across_tills_lock_the_store_and_the_ip(client, db):
    """Many tills of one store guessing, each under its own limit, lock the whole store; as
    they all come from one IP, that IP is locked too."""
    clock.freeze(NOON)
    shop = await new_till_shop(db)
    keys = []
    async with db.session_scope() as session:
        for n in range(4):
            key = f"extra-key-{n}-{uuid.uuid4().hex}"
            session.add(
                Terminal(store_id=shop.store.id, name=f"t{n}", api_key_hash=hash_api_key(key))
            )
            keys.append(key)
    member = await new_card_holder(db)
    bad = {"code": "0000000000000", "bill_fen": 1000}
    for key in keys:  # 4 tills x 8 failures = 32 > 30 for the store, each till under 10
        for _ in range(8):
            await client.post(
                "/api/v1/redemptions/prepare", json=bad, headers={"X-Terminal-Key": key}
            )
    fresh = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_fen": 1000},
        headers=till(shop),
    )
    assert fresh.status_code == 429
    assert fresh.json()["error"] == "TillLocked"
    async with db.session_scope() as session:
        locks = (await session.scalars(select(CodeLock.scope_key))).all()
    assert f"store:{shop.store.id}" in locks
    assert "ip:127.0.0.1" in locks  # all from one IP as well
    assert await count(db, Redemption) == 0
