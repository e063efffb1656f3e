"""Sunset helpers: a population of paying members, two operators, and a worker loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from redcard.config import Settings
from redcard.db import Database
from redcard.kit import time as clock
from redcard.models import Role, User
from redcard.payments.channels import Channels
from redcard.payments.sandbox import SandboxChannel
from redcard.worker import Worker
from tests.fixtures.factories import Plans, buy_card, login, new_user, setup_plans


@dataclass
class World:
    plans: Plans
    preparer: User
    approver: User
    preparer_h: dict[str, str]
    approver_h: dict[str, str]
    members: list[User]
    member_h: list[dict[str, str]]


async def make_world(
    client: httpx.AsyncClient, db: Database, sandbox: SandboxChannel, paying: int = 3
) -> World:
    plans = await setup_plans(db)
    preparer = await new_user(db, Role.operator, "运营甲")
    approver = await new_user(db, Role.operator, "运营乙")
    members, headers = [], []
    for i in range(paying):
        member = await new_user(db, name=f"会员{i}")
        h = await login(client, member)
        await buy_card(client, sandbox, h, plans.annual.id)
        members.append(member)
        headers.append(h)
    return World(
        plans,
        preparer,
        approver,
        await login(client, preparer),
        await login(client, approver),
        members,
        headers,
    )


async def drain(
    settings: Settings, db: Database, channels: Channels, sandbox: SandboxChannel, passes: int = 50
) -> None:
    """Run the worker until idle, moving the clock past each refund's poll time and
    delivering the channel's held notifications between passes."""
    worker = Worker(settings, db, channels)
    for _ in range(passes):
        did = sum((await worker.run_once()).values())
        flushed = await sandbox.flush_notifications()
        if not did and not flushed:
            clock.advance(timedelta(seconds=31))
            did = sum((await worker.run_once()).values())
            if not did:
                return
    raise AssertionError("the worker did not settle")


@pytest.fixture
def world_factory(client, db, sandbox):  # type: ignore[no-untyped-def]
    async def make(paying: int = 3) -> World:
        return await make_world(client, db, sandbox, paying)

    return make


async def run_sunset(
    client: httpx.AsyncClient,
    w: World,
    *,
    policy: str = "full",
    cutoff_in: timedelta = timedelta(0),
) -> dict[str, object]:
    """Prepare (first operator) and approve (second operator) a sunset; returns the prepared
    sunset with its dry run. The clock is frozen; the cut-off is `cutoff_in` from now."""
    from redcard.kit.time import utc_now
    from tests.fixtures.factories import idem

    clock.freeze(utc_now())
    prepared = await client.post(
        "/api/v1/operator/sunsets",
        json={
            "cutoff_at": (utc_now() + cutoff_in).isoformat(),
            "policy": policy,
            "notice": "停止服务",
        },
        headers=w.preparer_h | idem(),
    )
    assert prepared.status_code == 201, prepared.text
    sunset: dict[str, object] = prepared.json()
    approved = await client.post(
        f"/api/v1/operator/sunsets/{sunset['id']}/approve", headers=w.approver_h | idem()
    )
    assert approved.status_code == 200, approved.text
    return sunset
