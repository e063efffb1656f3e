"""Several processes share the work: the app (`redcard serve --workers 2`) and two
`redcard worker` processes on PostgreSQL work through a few thousand jobs (refunds,
notifications, settlement) while one worker is killed with SIGKILL twice. Every job
completes exactly once.

This test necessarily waits on real processes (bounded by a deadline); it never sleeps to
move our clock."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from redcard.kit import time as clock
from redcard.kit.time import business_day, zone
from redcard.models import Notification, Payment, Refund, RefundStatus, Statement, User
from redcard.payments import refunds
from redcard.payments.sandbox import refunds as sandbox_refunds
from tests.fixtures.factories import (
    add_paying_members,
    assert_ledger_ok,
    buy_card,
    login,
    new_shop,
    new_user,
    pay_bill,
    setup_plans,
)
from tests.fixtures.pgcluster import free_port

ROOT = Path(__file__).resolve().parents[2]
CARDS = 800
NOTES = 1500
MERCHANTS = 4
BATCH = 40
DEADLINE = float(os.environ.get("REDCARD_PROCESS_TEST_DEADLINE", "300"))


def _env(settings, port: int, notes_file: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return os.environ | {
        "REDCARD_DATABASE_URL": settings.database_url,
        "REDCARD_BASE_URL": f"http://127.0.0.1:{port}",
        "REDCARD_SANDBOX_SECRET": settings.sandbox_secret,
        "REDCARD_SECRET_KEY": settings.secret_key,
        "REDCARD_WORKER_BATCH": str(BATCH),
        "REDCARD_NOTIFICATIONS_FILE": str(notes_file),
        "REDCARD_LOG_LEVEL": "WARNING",
    }


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "redcard.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


async def _progress(db) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        refunded = await session.scalar(
            select(func.count()).where(Refund.status == RefundStatus.succeeded)
        )
        sent = await session.scalar(select(func.count()).where(Notification.sent_at.is_not(None)))
        statements = await session.scalar(select(func.count()).select_from(Statement))
    return int(refunded or 0), int(sent or 0), int(statements or 0)


async def _until(db, done, deadline: float) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """Poll the database (the processes' shared truth) until `done(progress)`."""
    while True:
        progress = await _progress(db)
        if done(progress):
            return progress
        assert time.monotonic() < deadline, f"stalled at {progress}"
        await asyncio.sleep(0.2)


@pytest.mark.postgres_only
async def test_two_workers_and_the_app_complete_every_job_once_through_two_kills(  # type: ignore[no-untyped-def]
    client, db, sandbox, settings, tmp_path
) -> None:
    # -- the work: refunds of 800 cards, 1,500 notices, 买单 bills of 4 merchants to settle
    plans = await setup_plans(db)
    await add_paying_members(db, sandbox, plans, CARDS)
    async with db.session_scope() as session:
        paid = (await session.execute(select(Payment.id, Payment.amount_fen))).all()
        await refunds.request_refunds(
            session, [refunds.RefundAsk(pid, fen, "test") for pid, fen in paid]
        )
        member_ids = list(await session.scalars(select(User.id)))
        session.add_all(
            Notification(  # a message every process knows the words of
                user_id=member_ids[i % len(member_ids)],
                template="event_reminder",
                params={"event": f"活动{i}", "starts_at": "2026-12-01 19:00 UTC+8", "code": "A1"},
            )
            for i in range(NOTES)
        )
    # the bills are two days old, so their day is settled whatever the hour
    two_days_ago = business_day(clock.utc_now()) - timedelta(days=2)
    clock.freeze(datetime.combine(two_days_ago, datetime.min.time(), zone()) + timedelta(hours=12))
    holder = await new_user(db)
    headers = await login(client, holder)
    await buy_card(client, sandbox, headers, plans.annual.id)
    for m in range(MERCHANTS):
        shop = await new_shop(db, name=f"商户{m}")
        for _ in range(2):
            await pay_bill(client, sandbox, headers, shop.stores[0].pay_code, "88.00")
    clock.unfreeze()
    async with db.session_scope() as session:
        note_ids = {str(i) for i in await session.scalars(select(Notification.id))}
    assert len(note_ids) >= NOTES

    # -- the processes
    port = free_port()
    notes_file = tmp_path / "notifications.jsonl"
    logs = tmp_path / "processes.log"
    env = _env(settings, port, notes_file)
    app = _start(["serve", "--port", str(port), "--workers", "2"], env, logs)
    workers = [_start(["worker"], env, logs), _start(["worker"], env, logs)]
    deadline = time.monotonic() + DEADLINE
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            while True:  # the app is up when it says it is ready
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, logs.read_text()[-2000:]
                await asyncio.sleep(0.2)

            # kill worker 0 once a third of the notices are out, again at half the refunds
            await _until(db, lambda p: p[1] >= len(note_ids) // 3, deadline)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            workers[0] = _start(["worker"], env, logs)
            await _until(db, lambda p: p[0] >= (CARDS + 1) // 2, deadline)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            workers[0] = _start(["worker"], env, logs)

            final = await _until(
                db,
                lambda p: p[0] >= CARDS and p[1] >= len(note_ids) and p[2] >= MERCHANTS,
                deadline,
            )
            scraped = (await http.get("/metrics")).text
    finally:
        for proc in [*workers, app]:
            proc.send_signal(signal.SIGTERM)
        for proc in [*workers, app]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert all(proc.returncode == 0 for proc in workers), logs.read_text()[-3000:]
    assert final == (CARDS, len(note_ids), MERCHANTS)

    # refunds: one per card in our books and at the channel, all succeeded
    async with db.session_scope() as session:
        per_payment = (
            await session.execute(
                select(Refund.payment_id, func.count()).group_by(Refund.payment_id)
            )
        ).all()
        statuses = set(await session.scalars(select(Refund.status)))
        per_day = (
            await session.execute(
                select(Statement.merchant_id, Statement.day, func.count()).group_by(
                    Statement.merchant_id, Statement.day
                )
            )
        ).all()
        unsent = await session.scalar(select(func.count()).where(Notification.sent_at.is_(None)))
    assert len(per_payment) == CARDS
    assert all(n == 1 for _, n in per_payment)
    assert statuses == {RefundStatus.succeeded}
    async with sandbox.engine.connect() as conn:
        at_channel = (
            await conn.execute(
                select(sandbox_refunds.c.out_trade_no, func.count()).group_by(
                    sandbox_refunds.c.out_trade_no
                )
            )
        ).all()
    assert len(at_channel) == CARDS
    assert all(n == 1 for _, n in at_channel)

    # settlement: one statement per merchant and day, however many workers reached it
    assert len(per_day) == MERCHANTS
    assert all(n == 1 for _, _, n in per_day)

    # notices: each sent once in our books; the sink saw each at least once (a kill between
    # the sink and the commit resends at most the batch in hand)
    assert unsent == 0
    seen = Counter(json.loads(line)["id"] for line in notes_file.read_text().splitlines())
    assert set(seen) == note_ids
    assert sum(seen.values()) - len(note_ids) <= 2 * BATCH

    # the app's two processes report together
    assert 'redcard_http_requests_total{method="GET",route="/readyz",status="200"}' in scraped
    await assert_ledger_ok(db)
