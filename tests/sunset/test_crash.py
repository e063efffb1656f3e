"""Crash safety: the worker PROCESS is killed with SIGKILL at random moments, at least ten
times, over a campaign of a few thousand cards, and restarted. Afterwards every order was
refunded exactly once, at the channel and in our records, for the dry run's total, and the
ledger balances.

The kills are timed by the wall clock: this test necessarily waits on a real process."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from redcard.db import Database
from redcard.kit.time import utc_now
from redcard.models import CampaignStatus, Refund, RefundStatus, Role, SunsetCampaign, SunsetItem
from redcard.payments.sandbox import refunds as sandbox_refunds
from redcard.sunset import dryrun, service
from tests.fixtures.factories import add_paying_members, assert_ledger_ok, new_user, setup_plans

ROOT = Path(__file__).resolve().parents[2]
CARDS = 3000
KILLS = int(os.environ.get("CRASH_KILLS", "12"))
LOG = ROOT / "test-artifacts" / "crash_worker.log"


def _start(database_url: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "REDCARD_DATABASE_URL": database_url,
        "CRASH_BATCH": os.environ.get("CRASH_BATCH", "250"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sunset.crash_worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=LOG.open("ab"),
    )


async def _status(db: Database, campaign_id: object) -> str:
    async with db.session_scope() as session:
        campaign = await session.get(SunsetCampaign, campaign_id)
        assert campaign is not None
        return campaign.status.value


async def _state(db: Database) -> str:
    async with db.session_scope() as session:
        items = (
            await session.execute(
                select(SunsetItem.status, func.count()).group_by(SunsetItem.status)
            )
        ).all()
        refunds = (
            await session.execute(select(Refund.status, func.count()).group_by(Refund.status))
        ).all()
        campaign = (await session.scalars(select(SunsetCampaign))).one()
    return f"not finished: items {items}, refunds {refunds}, benefits {campaign.benefits_ended_at}"


@pytest.mark.postgres_only
async def test_worker_killed_at_random_refunds_each_order_exactly_once(db, sandbox, settings):
    plans = await setup_plans(db)
    preparer = await new_user(db, Role.operator, "运营甲")
    approver = await new_user(db, Role.operator, "运营乙")
    await add_paying_members(db, sandbox, plans, CARDS)
    async with db.session_scope() as session:
        campaign = await service.prepare(
            session, preparer, cutoff_at=utc_now(), notice="停止服务，全额退款"
        )
        dry = await dryrun.dry_run(session, campaign.policy, campaign.cutoff_at)
    async with db.session_scope() as session:
        await service.approve(session, campaign.id, approver)
    assert dry.count == CARDS

    LOG.parent.mkdir(exist_ok=True)
    LOG.write_bytes(b"")
    rng = random.Random(4)
    kills = 0
    for _ in range(KILLS):
        proc = _start(settings.database_url)
        await asyncio.sleep(rng.uniform(0.8, 2.5))  # let it start and get some way into the work
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    assert kills >= min(10, KILLS)
    proc = _start(settings.database_url)
    try:
        deadline = time.monotonic() + int(os.environ.get("CRASH_DEADLINE", "240"))
        while await _status(db, campaign.id) != CampaignStatus.completed:
            assert time.monotonic() < deadline, await _state(db)
            await asyncio.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    async with db.session_scope() as session:
        per_payment = (
            await session.execute(
                select(Refund.payment_id, func.count(), func.sum(Refund.amount_fen))
                .where(Refund.campaign_id == campaign.id)
                .group_by(Refund.payment_id)
            )
        ).all()
        statuses = set(
            await session.scalars(select(Refund.status).where(Refund.campaign_id == campaign.id))
        )
        done = await session.get_one(SunsetCampaign, campaign.id)
    assert len(per_payment) == CARDS
    assert all(n == 1 for _, n, _ in per_payment)
    assert sum(int(fen) for _, _, fen in per_payment) == dry.total_fen == done.total_fen
    assert statuses == {RefundStatus.succeeded}
    async with sandbox.engine.connect() as conn:
        at_channel = (
            await conn.execute(
                select(
                    sandbox_refunds.c.out_trade_no,
                    func.count(),
                    func.sum(sandbox_refunds.c.amount_fen),
                ).group_by(sandbox_refunds.c.out_trade_no)
            )
        ).all()
    assert len(at_channel) == CARDS
    assert all(n == 1 for _, n, _ in at_channel)
    assert sum(int(fen) for _, _, fen in at_channel) == dry.total_fen
    await assert_ledger_ok(db)
