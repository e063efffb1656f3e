"""The `redcard` command as an operator runs it, and what `redcard demo` seeds: the README's
demo logins are what the README says they are."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from redcard.demo import DemoLogins
from tests.fixtures.cli import app_on, redcard

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "demo.db"
    result = redcard("demo", "--seed-only", db=db)
    assert result.returncode == 0, result.stderr
    assert "seeded" in result.stdout
    logins = DemoLogins()
    for phone in (logins.operator, logins.member, logins.trial_member, logins.staff):
        assert phone in result.stdout  # the printed logins table
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
        conn.execute(  # one message's e-mail, refused for good (the demo delivered the rest)
            "UPDATE notification_deliveries SET status = 'failed', sink = 'smtp', "
            "failed_at = CURRENT_TIMESTAMP, attempts = 8, last_error = 'OSError: smtp down' "
            "WHERE id = (SELECT id FROM notification_deliveries ORDER BY created_at LIMIT 1)"
        )
    listed = redcard("exceptions", db=copy)
    assert listed.returncode == 0, listed.stderr
    assert "exceptions queue (1)" in listed.stdout
    assert "OSError: smtp down" in listed.stdout
    assert "smtp" in listed.stdout


def readme_demo_logins() -> dict[str, str]:
    """The README's demo logins table: phone -> who."""
    rows = re.findall(r"^\| (.+?) \| (1\d{10}) \|$", README.read_text(encoding="utf-8"), re.M)
    return {phone: who for who, phone in rows}


async def logged_in(client: httpx.AsyncClient, phone: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"phone": phone, "password": DemoLogins().password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def card_of(client: httpx.AsyncClient, phone: str) -> tuple[dict, dict]:
    """The member's current card and its plan, as the API shows them."""
    headers = await logged_in(client, phone)
    card = await client.get("/api/v1/memberships/current", headers=headers)
    assert card.status_code == 200, card.text
    plans = (await client.get("/api/v1/plans")).json()["plans"]
    plan = next(p for p in plans if p["id"] == card.json()["plan_id"])
    return card.json(), plan


def test_the_readme_lists_every_demo_login_as_the_demo_seeds_it():
    logins, readme = DemoLogins(), readme_demo_logins()
    assert "annual card" in readme[logins.member]
    assert "trial" in readme[logins.trial_member]
    assert f"{logins.chain}, {logins.chain_stores} stores" in readme[logins.staff]
    assert {logins.operator, logins.second_operator} <= readme.keys()


async def test_the_demo_member_has_an_annual_card_with_savings_and_store_bills(seeded: Path):
    logins = DemoLogins()
    async with app_on(seeded) as client:
        card, plan = await card_of(client, logins.member)
        assert (card["kind"], card["status"], plan["code"]) == ("paid", "active", "annual")
        member = await logged_in(client, logins.member)
        code = (await client.get("/api/v1/me/code", headers=member)).json()
        assert code["savings_fen"] > 0
        staff = await logged_in(client, logins.staff)
        bills = (await client.get("/api/v1/merchant/bills", headers=staff)).json()
    paid = [b for b in bills if b["status"] == "committed"]
    assert paid, "the demo member has no 买单 history"
    assert {b["member"][-6:] for b in bills} == {f"({logins.member[-4:]})"}


async def test_the_trial_member_has_a_trial_card(seeded: Path):
    async with app_on(seeded) as client:
        card, plan = await card_of(client, DemoLogins().trial_member)
    assert (card["kind"], card["status"], plan["kind"]) == ("trial", "active", "trial")


async def test_the_demo_companion_uses_the_member_card(seeded: Path):
    logins = DemoLogins()
    assert "companion" in readme_demo_logins()[logins.companion]
    async with app_on(seeded) as client:
        companion = await logged_in(client, logins.companion)
        state = (await client.get("/api/v1/me/companion", headers=companion)).json()
        code = await client.get("/api/v1/me/code", headers=companion)
        member = await logged_in(client, logins.member)
        mine = (await client.get("/api/v1/me/companion", headers=member)).json()
    assert state["sharing"]["usable"] is True
    assert code.status_code == 200, code.text
    assert (mine["companion"]["status"], mine["companion"]["name"]) == ("active", "小绿")


async def test_the_demo_console_tells_the_seed_programmes_story(seeded: Path):
    """Four weeks of ordinary visits at stores anyone can visit: few cards have paid back their
    fee and the scarcity index is low (economics/demo.py), as in the seed programme."""
    from redcard.db import Database
    from redcard.economics.headline import headline
    from redcard.kit.time import business_day, utc_now

    db = Database(f"sqlite:///{seeded}")
    try:
        async with db.session_scope() as session:
            month = business_day(utc_now()).replace(day=1)
            h = await headline(session, month)
    finally:
        await db.dispose()
    both = h.current.redemptions + h.previous.redemptions
    assert both >= 40, both
    assert h.current.paying_members >= 20
    assert h.current.break_even_percent < 25
    for figures in (h.current, h.previous):
        if figures.redemptions >= 10:
            assert figures.scarcity_count_percent < 35


def test_the_economics_report_writes_a_page_and_its_tables(seeded: Path, tmp_path: Path):
    import csv

    out = tmp_path / "report"
    result = redcard("report", "economics", "--out", str(out), db=seeded)
    assert result.returncode == 0, result.stderr
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "会员计划经营报告" in html
    assert 'data-tile="scarcity"' in html
    assert "<script" not in html
    assert "http" not in html  # self-contained: nothing fetched
    with (out / "merchants.csv").open(encoding="utf-8") as fh:
        merchants = list(csv.DictReader(fh))
    with (out / "headline.csv").open(encoding="utf-8") as fh:
        headline = {row[0]: row[1] for row in csv.reader(fh)}
    assert int(headline["redemptions"]) == sum(int(m["visits"]) for m in merchants)
    assert int(headline["bills_fen"]) == sum(int(m["bills_fen"]) for m in merchants)
    assert html.count('<tr data-merchant="') == len(merchants)

    refused = redcard("report", "economics", "--out", str(out), "--month", "2026/11", db=seeded)
    assert refused.returncode == 1
    assert "2026-11" in refused.stdout


def test_simulate_fits_the_demos_history_and_backtests_itself(seeded: Path):
    result = redcard("simulate", "--members", "2000", db=seeded)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "fitted to" in out
    assert "members who break even in a year" in out
    assert "Half the members break even at a price of" in out
    assert re.search(r"Back-test on the last 28 days: .* members spent ¥[\d,.]+", out), out
    refused = redcard("simulate", "--price", "lots", db=seeded)
    assert refused.returncode == 1
