"""`redcard plans ...` and `redcard terms publish`: plans made from the command line, refused
for the API's reasons in the API's words, and on sale in the app once made."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fixtures.cli import app_on, redcard, upgraded

ANNUAL = ("--code", "annual", "--name", "年卡", "--price", "168", "--days", "365")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return upgraded(tmp_path_factory.mktemp("plans") / "redcard.db")


@pytest.fixture(scope="module")
def with_terms(database: Path) -> Path:
    """A copy of the database once the membership terms are published (by the command)."""
    db = database.with_name("with-terms.db")
    shutil.copy(database, db)
    body = database.with_name("terms.txt")
    body.write_text("会员卡一年有效。\n", encoding="utf-8")
    published = redcard("terms", "publish", "--title", "会员条款", "--body-file", str(body), db=db)
    assert published.returncode == 0, published.stdout + published.stderr
    assert "membership terms version 1 published" in published.stdout
    return db


def test_a_plan_needs_published_terms_first(database):
    refused = redcard("plans", "create", *ANNUAL, db=database)
    assert refused.returncode == 1
    assert "publish the membership terms before creating plans" in refused.stdout
    assert "publish terms first: redcard terms publish --title" in refused.stdout


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (("--price", "-168"), "price_fen (--price)", "the amount must not be negative"),
        (("--name", ""), "name", "String should have at least 1 character"),
        (("--days", "0"), "duration_days (--days)", "greater than or equal to 1"),
    ],
)
def test_bad_input_is_refused_naming_the_field(with_terms, change, field, message):
    args = list(ANNUAL)
    at = args.index(change[0])
    args[at + 1] = change[1]
    refused = redcard("plans", "create", *args, db=with_terms)
    assert refused.returncode == 1
    assert f"{field}: " in refused.stdout
    assert message in refused.stdout


async def test_a_plan_made_by_the_command_is_on_sale(with_terms):
    args = ("--code", "annual", "--name", "年卡", "--price", "168.00", "--days", "365")
    made = redcard("plans", "create", *args, "--name-en", "Annual card", db=with_terms)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "plan annual created: 年卡 (Annual card)" in made.stdout

    async with app_on(with_terms) as app:
        plans = (await app.get("/api/v1/plans")).json()["plans"]
        english = await app.get("/plans", headers={"cookie": "redcard_lang=en"})
    assert [(p["code"], p["name"], p["price_fen"], p["duration_days"]) for p in plans] == [
        ("annual", "年卡", 16800, 365)
    ]
    assert plans[0]["name_en"] == "Annual card"
    assert "<h2>Annual card</h2>" in english.text  # an English page shows the English name

    again = redcard("plans", "create", *ANNUAL, db=with_terms)
    assert again.returncode == 1
    assert "a plan with code 'annual' exists" in again.stdout
    listed = redcard("plans", "list", db=with_terms)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "annual" in line)
    assert "年卡" in row
    assert "¥168.00" in row
    assert "on sale" in row
