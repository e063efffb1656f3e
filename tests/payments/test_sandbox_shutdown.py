"""Closing a process that hosts the sandbox (the worker's `--once`, SIGTERM, the end of
`--until-idle`, the app's shutdown) never waits for the sandbox's callback retries: an
undelivered callback stays in the sandbox's own queue (its books), and the sandbox delivers it
when a process hosting it runs again. Nothing is lost."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from subprocess import Popen
from typing import IO

import httpx
from sqlalchemy import select

from redcard.kit import time as clock
from redcard.models import Payment, PaymentStatus, Refund, RefundStatus
from redcard.payments import refunds
from redcard.payments.sandbox import SandboxChannel
from redcard.payments.sandbox_books import notifications as sandbox_queue
from redcard.worker import Worker
from tests.fixtures.factories import (
    assert_ledger_ok,
    buy_card,
    idem,
    login,
    new_user,
    out_trade_no,
    setup_plans,
)

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redcard(*args: str, env: dict[str, str], stderr: IO[str] | int = subprocess.PIPE) -> Popen[str]:
    return Popen(
        [sys.executable, "-m", "redcard.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def worker_env(settings, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "REDCARD_BASE_URL"}
    return env | {
        "REDCARD_DATABASE_URL": settings.database_url,
        "REDCARD_SANDBOX_SECRET": settings.sandbox_secret,
        "REDCARD_LOG_JSON": "true",
        "PYTHONUNBUFFERED": "1",  # the pass's result reaches the pipe when it is printed
        **extra,
    }


async def test_the_worker_exits_within_2_s_of_once_with_the_callback_url_unreachable(
    client, db, sandbox, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    plans = await setup_plans(db)
    await buy_card(client, sandbox, await login(client, await new_user(db)), plans.annual.id)
    async with db.session_scope() as session:
        payment = (await session.scalars(select(Payment))).one()
        refund = await refunds.request_refund(session, payment.id, payment.amount_fen, "test")
    port = closed_port()

    env = worker_env(settings, REDCARD_BASE_URL=f"http://127.0.0.1:{port}")
    with (tmp_path / "stderr").open("w+") as log:
        worker = redcard("worker", "--once", env=env, stderr=log)
        assert worker.stdout is not None
        first_line = worker.stdout.readline()  # printed when the pass is over
        printed_at = time.monotonic()
        rest = worker.stdout.read()  # the end of the output: the process has exited
        worker.wait(timeout=120)
        exited_at = time.monotonic()
        log.seek(0)
        err = log.read()

    assert worker.returncode == 0, err
    assert "'refunds': 1" in first_line + rest  # the pass submitted the refund
    assert exited_at - printed_at <= 2.0, f"took {exited_at - printed_at:.1f} s to exit"
    assert "REDCARD_BASE_URL" not in err  # it is set: nothing to warn about

    # the worker's own status query confirmed the refund; the callback it could not deliver
    # is in the sandbox's queue, not lost
    async with db.session_scope() as session:
        assert (await session.get_one(Refund, refund.id)).status == RefundStatus.succeeded
    async with sandbox.engine.connect() as conn:
        (queued,) = (await conn.execute(select(sandbox_queue))).all()
    assert queued.url == f"http://127.0.0.1:{port}/api/v1/payments/notify/sandbox"
    assert queued.attempts == 1
    assert queued.next_attempt_at is not None

    # a later process hosting the sandbox delivers it when its retry time comes; the app
    # takes it (2xx) and it changes nothing
    clock.freeze(clock.as_utc(queued.next_attempt_at))
    assert await sandbox.redeliver_due() == 1
    async with sandbox.engine.connect() as conn:
        assert (await conn.execute(select(sandbox_queue))).all() == []
    async with db.session_scope() as session:
        assert (await session.get_one(Refund, refund.id)).status == RefundStatus.succeeded
    await assert_ledger_ok(db)


async def test_closing_never_waits_for_retries_and_the_worker_confirms_the_payment(
    client, db, sandbox, settings, channels
) -> None:  # type: ignore[no-untyped-def]
    """The app's sandbox takes a payment and cannot deliver its callback; closing it does not
    wait for the retries (2, 4, 8, 16 s), the callback stays queued, and the worker's status
    query confirms the payment meanwhile."""
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    response = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    assert response.status_code == 201, response.text

    async def unreachable(url: str, headers: dict[str, str], body: bytes) -> int:
        raise httpx.ConnectError("connection refused")

    cashier = SandboxChannel(
        database_url=settings.resolved_sandbox_url(),
        secret=settings.sandbox_secret,
        deliver=unreachable,
    )
    await cashier.pay(out_trade_no(response.json()["pay_url"]))
    await asyncio.wait_for(cashier.close(), timeout=2)  # the retries would take 30 s

    async with sandbox.engine.connect() as conn:
        (queued,) = (await conn.execute(select(sandbox_queue))).all()
    assert queued.attempts == 1
    assert json.loads(queued.body)["event_type"] == "payment.succeeded"
    async with db.session_scope() as session:
        payment = (await session.scalars(select(Payment))).one()
    assert payment.status == PaymentStatus.pending

    clock.freeze(clock.as_utc(payment.created_at) + timedelta(minutes=2))
    assert (await Worker(settings, db, channels).run_once())["payments"] == 1
    async with db.session_scope() as session:
        assert (await session.get_one(Payment, payment.id)).status == PaymentStatus.succeeded
    await assert_ledger_ok(db)


async def test_the_next_process_hosting_the_sandbox_delivers_what_an_earlier_one_could_not(
    client, db, sandbox, settings
) -> None:  # type: ignore[no-untyped-def]
    """The app stopped while its sandbox could not deliver a payment's callback; the app's
    next start runs the sandbox's queue, which delivers it, and the payment is confirmed."""
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    response = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    assert response.status_code == 201, response.text

    async def unreachable(url: str, headers: dict[str, str], body: bytes) -> int:
        raise httpx.ConnectError("connection refused")

    books = {"database_url": settings.resolved_sandbox_url(), "secret": settings.sandbox_secret}
    before = SandboxChannel(**books, deliver=unreachable)
    await before.pay(out_trade_no(response.json()["pay_url"]))
    await before.close()

    delivered = asyncio.Event()

    async def into_the_app(url: str, headers: dict[str, str], body: bytes) -> int:
        status = await sandbox.deliver(url, headers, body)  # the test app, through ASGI
        delivered.set()
        return status

    clock.freeze(clock.utc_now() + timedelta(seconds=3))  # its retry time has come
    after = SandboxChannel(**books, deliver=into_the_app)
    await after.start()
    try:
        await asyncio.wait_for(delivered.wait(), timeout=30)
    finally:
        await after.close()
    async with db.session_scope() as session:
        assert (await session.scalars(select(Payment))).one().status == PaymentStatus.succeeded
    async with sandbox.engine.connect() as conn:
        assert (await conn.execute(select(sandbox_queue))).all() == []
    await assert_ledger_ok(db)


async def test_a_worker_without_redcard_base_url_says_so_once(db, settings) -> None:  # type: ignore[no-untyped-def]
    worker = redcard("worker", "--once", env=worker_env(settings))
    _, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    warnings = [line for line in err.splitlines() if "REDCARD_BASE_URL" in line]
    assert len(warnings) == 1, err
    assert "http://127.0.0.1:8000" in warnings[0]
    assert "callbacks" in warnings[0]


def test_serve_without_redcard_base_url_says_where_callbacks_go(settings) -> None:  # type: ignore[no-untyped-def]
    port = closed_port()
    server = redcard("serve", "--port", str(port), env=worker_env(settings))
    assert server.stderr is not None
    seen: list[str] = []
    for line in server.stderr:  # waits on the real process until it serves
        seen.append(line)
        if "Uvicorn running" in line or "Application startup complete" in line:
            break
    server.terminate()
    _, err = server.communicate(timeout=60)
    warnings = [line for line in [*seen, *err.splitlines()] if "REDCARD_BASE_URL" in line]
    assert len(warnings) == 1, "".join(seen) + err
    assert f"http://127.0.0.1:{port}" in warnings[0]
