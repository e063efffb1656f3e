"""The `redcard` command as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def redcard(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"REDCARD_DATABASE_URL": f"sqlite:///{db}"}
    return subprocess.run(
        [sys.executable, "-m", "redcard.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "demo.db"
    result = redcard("demo", "--seed-only", db=db)
    assert result.returncode == 0, result.stderr
    assert "13800000000" in result.stdout
    assert "seeded" in result.stdout
    return db


def test_demo_seeds_once_and_the_ledger_checks_out(seeded: Path):
    again = redcard("demo", "--seed-only", db=seeded)
    assert again.returncode == 0, again.stderr
    assert "already seeded" in again.stdout
    check = redcard("ledger", "check", db=seeded)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ledger OK" in check.stdout


def test_ledger_check_fails_on_a_tampered_balance(seeded: Path, tmp_path: Path):
    import shutil
    import sqlite3

    copy = tmp_path / "tampered.db"
    shutil.copy(seeded, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute(
            "UPDATE ledger_accounts SET balance_fen = balance_fen + 1 "
            "WHERE code = 'channel_clearing'"
        )
    check = redcard("ledger", "check", db=copy)
    assert check.returncode == 1
    assert "channel_clearing" in check.stdout


def test_db_upgrade_is_repeatable(tmp_path: Path):
    db = tmp_path / "fresh.db"
    assert redcard("db", "upgrade", db=db).returncode == 0
    second = redcard("db", "upgrade", db=db)
    assert second.returncode == 0
    assert "up to date" in second.stdout


def test_exceptions_lists_notifications_the_sink_refused(seeded: Path, tmp_path: Path):
    import shutil
    import sqlite3

    copy = tmp_path / "refused.db"
    shutil.copy(seeded, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute(
            "UPDATE notifications SET failed_at = CURRENT_TIMESTAMP, attempts = 8, "
            "last_error = 'OSError: smtp down' "
            "WHERE id = (SELECT id FROM notifications ORDER BY created_at LIMIT 1)"
        )
    listed = redcard("exceptions", db=copy)
    assert listed.returncode == 0, listed.stderr
    assert "exceptions queue (1)" in listed.stdout
    assert "OSError: smtp down" in listed.stdout
