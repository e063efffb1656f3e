"""`redcard sunset prepare | approve | list | cancel` as two operators, and `status | bill |
reconcile` against a finished campaign."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redcard.kit.time import today as clock_today
from redcard.kit.time import zone
from tests.fixtures.factories import PASSWORD, drain, run_sunset

ROOT = Path(__file__).resolve().parents[2]


async def _cli(database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from redcard.cli import app; app()",
        *args,
        cwd=ROOT,
        env=os.environ | {"REDCARD_DATABASE_URL": database_url, "COLUMNS": "160"},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate(stdin.encode() if stdin is not None else b"")
    return int(proc.returncode or 0), out.decode()


async def test_status_bill_and_reconcile_from_the_command_line(
    client, db, sandbox, settings, channels, world_factory, tmp_path
):
    w = await world_factory(2)
    await run_sunset(client, w)
    await drain(settings, db, channels, sandbox)

    code, out = await _cli(settings.database_url, "sunset", "status")
    assert code == 0, out
    assert "completed" in out
    assert "¥336.00" in out  # two cards of ¥168 refunded
    assert "2/2" in out

    bill = tmp_path / "bill.csv"
    day = clock_today().isoformat()
    code, out = await _cli(
        settings.database_url, "sunset", "bill", "--day", day, "--out", str(bill)
    )
    assert code == 0, out
    assert bill.read_text().startswith("kind,reference,out_trade_no,amount_fen,channel_ref,at")

    code, out = await _cli(settings.database_url, "sunset", "reconcile", "--bill", str(bill))
    assert code == 0, out
    assert "no differences; every day of the campaign's refunds is covered" in out
    # without a bill, every day's is downloaded through the channel port
    code, out = await _cli(settings.database_url, "sunset", "reconcile")
    assert code == 0, out
    assert "every day of the campaign's refunds is covered" in out

    lines = bill.read_text().splitlines()
    first = lines[1].split(",")
    first[3] = str(int(first[3]) + 1)
    lines[1] = ",".join(first)
    bill.write_text("\n".join(lines) + "\n")
    code, out = await _cli(settings.database_url, "sunset", "reconcile", "--bill", str(bill))
    assert code == 1
    assert "长款" in out
    assert first[1] in out


async def test_two_operators_prepare_and_approve_from_the_command_line(
    client, db, settings, world_factory
):
    w = await world_factory(2)
    url = settings.database_url
    preparer, approver = w.preparer.phone, w.approver.phone
    real_now = datetime.now(UTC)  # the command runs on the real clock
    past = await _cli(
        url, "sunset", "prepare", "--cutoff", "2020-01-01 00:00", "--notice", "停",
        "--as", preparer, "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    assert past[0] == 1
    assert "the cut-off is in the past" in past[1]

    cutoff = (real_now + timedelta(days=1)).astimezone(zone())
    code, out = await _cli(
        url, "sunset", "prepare", "--cutoff", f"{cutoff:%Y-%m-%d %H:%M}", "--policy", "full",
        "--notice", "小红卡停止运营，全额退款", "--as", preparer, "--password-stdin",
        stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, out
    assert f"cut-off {cutoff:%Y-%m-%d %H:%M} UTC+8" in out
    assert "¥336.00" in out  # the dry run: two cards of ¥168
    campaign_id = out.split("Sunset ")[1].split(" ")[0]

    own = await _cli(
        url, "sunset", "approve", campaign_id, "--as", preparer, "--password-stdin", stdin=PASSWORD
    )
    assert own[0] == 1
    assert "a second operator must approve" in own[1]
    wrong = await _cli(
        url, "sunset", "approve", campaign_id, "--as", approver, "--password-stdin", stdin="nope"
    )
    assert wrong[0] == 1
    assert "wrong phone number or password" in wrong[1]
    member = await _cli(
        url, "sunset", "cancel", campaign_id, "--as", w.members[0].phone, "--password-stdin",
        stdin=PASSWORD,
    )  # fmt: skip
    assert member[0] == 1
    assert "only an operator" in member[1]

    code, out = await _cli(
        url, "sunset", "cancel", campaign_id, "--as", approver, "--password-stdin", stdin=PASSWORD
    )
    assert code == 0, out
    assert "cancelled" in out
    code, out = await _cli(
        url, "sunset", "prepare", "--cutoff", f"{cutoff:%Y-%m-%d %H:%M}", "--notice", "停止运营",
        "--as", preparer, "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, out
    second_id = out.split("Sunset ")[1].split(" ")[0]
    code, out = await _cli(
        url, "sunset", "approve", second_id, "--as", approver, "--password-stdin", stdin=PASSWORD
    )
    assert code == 0, out
    assert "sales are closed; 2 cards, ¥336.00 to refund" in out

    code, out = await _cli(url, "sunset", "list")
    assert code == 0, out
    assert campaign_id in out
    assert second_id in out
    listed = await client.get("/api/v1/operator/sunsets", headers=w.preparer_h)
    assert listed.status_code == 200
    assert [(c["id"], c["status"]) for c in listed.json()] == [
        (second_id, "approved"),
        (campaign_id, "cancelled"),
    ]
    assert listed.json()[0]["progress"]["items"] == 2
    assert (await client.get("/api/v1/operator/sunsets", headers=w.member_h[0])).status_code == 403
    assert (await client.get("/api/v1/plans")).json()["sales_open"] is False
