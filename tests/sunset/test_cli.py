"""`redcard sunset status | bill | reconcile` against a finished campaign."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from redcard.kit.time import utc_now
from tests.fixtures.factories import drain, run_sunset

ROOT = Path(__file__).resolve().parents[2]


async def _cli(database_url: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from redcard.cli import app; app()",
        *args,
        cwd=ROOT,
        env=os.environ | {"REDCARD_DATABASE_URL": database_url, "COLUMNS": "160"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
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
    day = utc_now().date().isoformat()
    code, out = await _cli(
        settings.database_url, "sunset", "bill", "--day", day, "--out", str(bill)
    )
    assert code == 0, out
    assert bill.read_text().startswith("kind,reference,out_trade_no,amount_fen,channel_ref,at")

    code, out = await _cli(settings.database_url, "sunset", "reconcile", "--bill", str(bill))
    assert code == 0, out
    assert "no differences" in out

    lines = bill.read_text().splitlines()
    first = lines[1].split(",")
    first[3] = str(int(first[3]) + 1)
    lines[1] = ",".join(first)
    bill.write_text("\n".join(lines) + "\n")
    code, out = await _cli(settings.database_url, "sunset", "reconcile", "--bill", str(bill))
    assert code == 1
    assert "长款" in out
    assert first[1] in out
