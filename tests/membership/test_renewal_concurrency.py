"""Exactly once under concurrency, on PostgreSQL: auto-renew turned off while the worker
charges (charged-and-renewed or not charged, never charged-and-not-renewed); two workers at
once; a worker process SIGKILLed between the channel's charge and our commit. Every time: at
most one charge per period, in our records and in the sandbox channel's own books."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from redcard.kit.time import utc_now
from redcard.membership import renewal, renewal_tasks
from redcard.models import (
    Membership,
    MembershipStatus,
    Payment,
    Renewal,
    RenewalStatus,
    User,
)
from tests.fixtures.factories import assert_ledger_ok, count
from tests.membership.renewal_helpers import renewing_member, run_renewals

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres_only


async def _due_now(db, client, sandbox, channels, settings, n: int) -> list:  # type: ignore[no-untyped-def]
    """n members whose renewal was noticed 5 days ago and is due now."""
    members = [await renewing_member(client, db, sandbox, f"会员{i}") for i in range(n)]
    now = utc_now()
    async with db.session_scope() as session:
        await session.execute(
            update(Membership)
            .where(Membership.status == MembershipStatus.active)
            .values(starts_at=now - timedelta(days=365), ends_at=now - timedelta(seconds=1))
        )
    async with db.session_scope() as session:
        await renewal_tasks.send_notices(session, renewal_tasks.Config.of(settings), 1000)
        await session.execute(
            update(Renewal).values(
                noticed_at=now - timedelta(days=5), due_at=now - timedelta(seconds=1)
            )
        )
    return members


async def _outcomes(db, sandbox) -> dict[str, tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    """Per mandate: (renewal status, charges at the channel that succeeded, our payments)."""
    charges: dict[str, int] = {}
    for mandate_no, _, status, _ in await sandbox.charges_of():
        charges[mandate_no] = charges.get(mandate_no, 0) + (status == "succeeded")
    out = {}
    async with db.session_scope() as session:
        rows = await session.execute(
            select(Renewal, func.count(Payment.id))
            .outerjoin(Payment, Payment.out_trade_no == Renewal.charge_no)
            .group_by(Renewal.id)
        )
        from redcard.models import PaymentMandate

        for r, paid in rows:
            mandate = await session.get_one(PaymentMandate, r.mandate_id)
            out[mandate.mandate_no] = (r.status.value, charges.get(mandate.mandate_no, 0), paid)
    return out


async def test_turning_off_while_the_worker_charges(client, db, sandbox, channels, settings):
    members = await _due_now(db, client, sandbox, channels, settings, 12)

    async def off(member: User) -> None:
        async with db.session_scope() as session:
            await renewal.turn_off(session, channels, member)

    await asyncio.gather(
        run_renewals(db, channels, settings),
        *(off(m.member) for m in members[::2]),
        run_renewals(db, channels, settings),
        *(off(m.member) for m in members[1::2]),
    )
    outcomes = await _outcomes(db, sandbox)
    assert len(outcomes) == 12
    for status, charged, paid in outcomes.values():
        # charged-and-renewed, or not charged; never charged-and-not-renewed
        assert (status, charged, paid) in {("renewed", 1, 1), ("cancelled", 0, 0)}
    await assert_ledger_ok(db)


async def test_two_workers_charge_each_period_once(client, db, sandbox, channels, settings):
    await _due_now(db, client, sandbox, channels, settings, 12)
    await asyncio.gather(*(run_renewals(db, channels, settings) for _ in range(3)))
    outcomes = await _outcomes(db, sandbox)
    assert sorted(outcomes.values()) == [("renewed", 1, 1)] * 12
    assert len(await sandbox.charges_of()) == 12  # the channel's books: one charge each
    await assert_ledger_ok(db)


def _start(database_url: str, slow: float) -> subprocess.Popen[bytes]:
    env = os.environ | {"REDCARD_DATABASE_URL": database_url, "RENEWAL_SLOW_CHARGE": str(slow)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.membership.renewal_crash_worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_a_worker_killed_mid_renewal_charges_once_and_the_next_run_finishes(
    client, db, sandbox, channels, settings
):
    await _due_now(db, client, sandbox, channels, settings, 6)
    process = _start(settings.database_url, slow=0.5)
    deadline = time.monotonic() + 60
    # wall-clock waiting: this test watches a real process
    while len(await sandbox.charges_of()) < 2:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the worker never charged"
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    charged_before = len(await sandbox.charges_of())
    async with db.session_scope() as session:
        renewed = await session.scalar(
            select(func.count()).where(Renewal.status == RenewalStatus.renewed)
        )
    assert renewed == 0
    assert charged_before >= 2

    again = _start(settings.database_url, slow=0)
    assert again.wait(timeout=120) == 0, again.stderr.read() if again.stderr else ""
    outcomes = await _outcomes(db, sandbox)
    assert sorted(outcomes.values()) == [("renewed", 1, 1)] * 6
    assert len(await sandbox.charges_of()) == 6
    assert await count(db, Payment) == 12  # six purchases, six renewals
    await assert_ledger_ok(db)


async def test_two_workers_send_one_notice_per_card(client, db, sandbox, channels, settings):
    members = [await renewing_member(client, db, sandbox, f"会员{i}") for i in range(8)]
    now = utc_now()
    async with db.session_scope() as session:
        await session.execute(
            update(Membership)
            .where(Membership.status == MembershipStatus.active)
            .values(ends_at=now + timedelta(days=4))
        )
    config = renewal_tasks.Config.of(settings)

    async def notices(limit: int) -> None:
        while True:
            async with db.session_scope() as session:
                if not await renewal_tasks.send_notices(session, config, limit):
                    return

    await asyncio.gather(notices(3), notices(2), notices(1))
    assert await count(db, Renewal) == len(members)
    async with db.session_scope() as session:
        from redcard.models import Notification

        sent = await session.scalar(
            select(func.count()).where(Notification.template == "renewal_notice")
        )
    assert sent == len(members)
