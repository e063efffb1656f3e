"""An operator's first week, as docs/operator.md walks it: a fresh PostgreSQL database set up
only with the `redcard` command (migrations, two operators, terms, a plan), a member who buys
through the API, a sunset prepared and approved from the command line by the two operators,
the worker run until idle, and the campaign reconciled: every payment refunded exactly once and
the ledger check passing.

The commands run as subprocesses on the real clock; the worker runs in this process with the
clock moved past the cut-off (tests never wait for time to pass)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from redcard.app import create_app
from redcard.config import Settings
from redcard.db import Database
from redcard.kit import time as clock
from redcard.models import Payment, Refund, RefundStatus
from redcard.payments.channels import Channels
from redcard.payments.sandbox import SandboxChannel
from redcard.payments.sandbox import refunds as sandbox_refunds
from tests.fixtures.factories import buy_card, drain, idem
from tests.fixtures.pgdb import create_pg_database, drop_pg_database

ROOT = Path(__file__).resolve().parents[1]
OPERATORS = {"13800000101": "first-operator-pw", "13800000102": "second-operator-pw"}
MEMBERS = ["13900000201", "13900000202", "13900000203"]


@pytest.fixture(scope="module")
def fresh_url() -> Iterator[str]:
    name = f"redcard_bootstrap_{os.getpid()}"
    yield create_pg_database(name)
    drop_pg_database(name)


def redcard(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = os.environ | {"REDCARD_DATABASE_URL": url, "COLUMNS": "160"}
    env.pop("REDCARD_ENVIRONMENT", None)
    return subprocess.run(
        [sys.executable, "-m", "redcard.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


Served = tuple[httpx.AsyncClient, Settings, Database, Channels, SandboxChannel]


@pytest.fixture
async def served(
    fresh_url: str,
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings, Database, Channels, SandboxChannel]]:
    """The app on the fresh database, in this process, as members reach it."""
    settings = Settings(database_url=fresh_url)
    db = Database(fresh_url)
    sandbox = SandboxChannel(
        database_url=settings.resolved_sandbox_url(),
        secret=settings.sandbox_secret,
        base_url=settings.base_url,
        auto_deliver=False,
    )
    channels = Channels({sandbox.name: sandbox}, default=sandbox.name)
    app = create_app(settings, db=db, channels=channels)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:

        async def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
            return (
                await client.post(urlsplit(url).path, content=body, headers=headers)
            ).status_code

        sandbox.deliver = deliver
        yield client, settings, db, channels, sandbox
    await sandbox.close()
    await db.dispose()


async def test_a_fresh_database_from_first_operator_to_finished_sunset(fresh_url, served, tmp_path):
    client, settings, db, channels, sandbox = served
    # 1. the schema, the first operators, the terms and a plan: the command line only
    ok(redcard(fresh_url, "db", "upgrade"))
    for n, (phone, password) in enumerate(OPERATORS.items()):
        out = ok(
            redcard(
                fresh_url, "users", "create-operator", "--phone", phone, "--name", f"运营{n}",
                "--password-stdin", stdin=password + "\n",
            )
        )  # fmt: skip
        assert phone[-4:] in out
        assert password not in out
    terms_file = tmp_path / "terms.md"
    terms_file.write_text("年卡 ¥168，365 天。可随时申请退款，按会员协议办理。\n", encoding="utf-8")
    ok(
        redcard(
            fresh_url, "terms", "publish", "--title", "小红卡会员服务协议",
            "--body-file", str(terms_file),
        )
    )  # fmt: skip
    out = ok(
        redcard(
            fresh_url, "plans", "create", "--code", "annual", "--name", "年卡", "--price", "168",
            "--days", "365",
        )
    )  # fmt: skip
    assert "¥168.00" in out

    # 2. members sign up and buy, through the API
    plans = (await client.get("/api/v1/plans")).json()
    assert plans["sales_open"] is True
    [annual] = plans["plans"]
    for phone in MEMBERS:
        signup = await client.post(
            "/api/v1/auth/signup",
            json={"phone": phone, "password": "member-password", "display_name": "会员"},
            headers=idem(),
        )
        assert signup.status_code == 201, signup.text
        token = await client.post(
            "/api/v1/auth/login", json={"phone": phone, "password": "member-password"}
        )
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        await buy_card(client, sandbox, headers, annual["id"])

    # 3. the sunset, prepared by one operator and approved by the other, from the command line
    (first, first_pw), (second, second_pw) = OPERATORS.items()
    cutoff = (datetime.now(UTC) + timedelta(days=1)).astimezone(clock.zone())
    out = ok(
        redcard(
            fresh_url, "sunset", "prepare", "--cutoff", f"{cutoff:%Y-%m-%d %H:%M}",
            "--notice", "小红卡停止运营，全额退款", "--as", first, "--password-stdin",
            stdin=first_pw + "\n",
        )
    )  # fmt: skip
    assert "¥504.00" in out  # the dry run: three cards of ¥168
    campaign_id = out.split("Sunset ")[1].split(" ")[0]
    out = ok(
        redcard(
            fresh_url, "sunset", "approve", campaign_id, "--as", second, "--password-stdin",
            stdin=second_pw + "\n",
        )
    )  # fmt: skip
    assert "sales are closed; 3 cards, ¥504.00 to refund" in out
    assert (await client.get("/api/v1/plans")).json()["sales_open"] is False

    # 4. the worker, until idle, after the cut-off
    clock.freeze(cutoff.astimezone(UTC) + timedelta(minutes=1))
    await drain(settings, db, channels, sandbox)
    assert "completed" in ok(redcard(fresh_url, "sunset", "status"))

    # 5. reconcile every day of the campaign's refunds, and check the ledger
    out = ok(redcard(fresh_url, "sunset", "reconcile"))
    assert "every day of the campaign's refunds is covered" in out
    assert "ledger OK" in ok(redcard(fresh_url, "ledger", "check"))
    async with db.session_scope() as session:
        payments = await session.scalar(select(func.count()).select_from(Payment))
        per_payment = (
            await session.execute(
                select(Refund.payment_id, func.count())
                .where(Refund.status == RefundStatus.succeeded)
                .group_by(Refund.payment_id)
            )
        ).all()
    assert payments == len(MEMBERS)
    assert sorted(n for _, n in per_payment) == [1] * len(MEMBERS)
    async with sandbox.engine.connect() as conn:
        at_channel = (
            await conn.execute(
                select(sandbox_refunds.c.out_trade_no, func.count()).group_by(
                    sandbox_refunds.c.out_trade_no
                )
            )
        ).all()
    assert sorted(n for _, n in at_channel) == [1] * len(MEMBERS)
