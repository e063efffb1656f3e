"""A member asks for a refund themselves: a preview first, then the refund through the one
refund path; refused after the cooling-off period and once the programme is closing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from redcard.kit import time as clock
from redcard.kit.time import utc_now
from redcard.models import Refund
from tests.fixtures.factories import assert_ledger_ok, drain, idem, run_sunset


async def test_member_previews_then_refunds_within_cooling_off(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(1)
    h = w.member_h[0]
    quote = (await client.get("/api/v1/refunds/quote", headers=h)).json()
    assert quote["allowed"] is True
    assert quote["amount_fen"] == 16800
    assert quote["policy"] == "full"
    done = await client.post("/api/v1/refunds", headers=h | idem())
    assert done.status_code == 201, done.text
    assert done.json()["amount_fen"] == 16800
    # benefits stop at once; the money follows through the worker
    assert (await client.get("/api/v1/memberships/current", headers=h)).status_code == 404
    await drain(settings, db, channels, sandbox)
    mine = (await client.get("/api/v1/refunds", headers=h)).json()
    assert [(r["status"], r["reason"]) for r in mine] == [("succeeded", "self_service")]
    again = await client.post("/api/v1/refunds", headers=h | idem())
    assert again.status_code == 404
    await assert_ledger_ok(db)


async def test_refused_after_cooling_off(client, db, sandbox, world_factory):
    w = await world_factory(1)
    clock.freeze(utc_now() + timedelta(days=8))
    quote = (await client.get("/api/v1/refunds/quote", headers=w.member_h[0])).json()
    assert quote["allowed"] is False
    assert quote["reason"] == "the cooling-off period has ended"
    refused = await client.post("/api/v1/refunds", headers=w.member_h[0] | idem())
    assert refused.status_code == 409
    assert refused.json()["error"] == "SelfRefundNotAllowed"
    async with db.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(Refund)) == 0


async def test_refused_once_the_programme_is_closing(client, db, sandbox, world_factory):
    w = await world_factory(1)
    await run_sunset(client, w, cutoff_in=timedelta(days=3))
    quote = (await client.get("/api/v1/refunds/quote", headers=w.member_h[0])).json()
    assert quote["allowed"] is False
    assert "refunded automatically" in quote["reason"]


@pytest.mark.postgres_only
async def test_two_parallel_requests_refund_once(client, db, sandbox, world_factory):
    w = await world_factory(1)
    h = w.member_h[0]
    results = await asyncio.gather(
        *(client.post("/api/v1/refunds", headers=h | idem()) for _ in range(4))
    )
    assert sorted(r.status_code for r in results) == [201, 404, 404, 404]
    async with db.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(Refund)) == 1
