"""`redcard users ...`: a deployment's way in without the demo. On an empty database the
command creates an operator who can log in to the app; it refuses what the sign-up refuses;
a password reset ends the old password and its logins; a disabled account cannot log in, and
the last operator cannot be disabled."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.cli import app_on, redcard, upgraded

FIRST = "13800000001"
FIRST_PASSWORD = "first-operator-pw"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh database whose only account is the first operator, made by the command."""
    db = upgraded(tmp_path_factory.mktemp("users") / "redcard.db")
    made = redcard(
        "users", "create-operator", "--phone", FIRST, "--name", "首席运营", "--password-stdin",
        db=db, stdin=FIRST_PASSWORD + "\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"operator 首席运营 ({FIRST}) created" in made.stdout
    assert FIRST_PASSWORD not in made.stdout + made.stderr
    shutil.copy(db, db.with_name("first-operator-only.db"))  # before the tests add others
    return db


@pytest.fixture(scope="module")
async def app(database: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_on(database) as client:
        yield client


async def log_in(app: httpx.AsyncClient, phone: str, password: str) -> httpx.Response:
    return await app.post("/api/v1/auth/login", json={"phone": phone, "password": password})


async def me(app: httpx.AsyncClient, token: str) -> httpx.Response:
    return await app.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


async def test_the_first_operator_logs_in_as_an_operator(app):
    response = await log_in(app, FIRST, FIRST_PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["role"] == "operator"
    console = await app.get(
        "/api/v1/operator/plans", headers={"Authorization": f"Bearer {response.json()['token']}"}
    )
    assert console.status_code == 200


@pytest.mark.parametrize(
    ("phone", "password", "message"),
    [
        ("+86 138-0000-0001", "another-password", "this phone number already has an account"),
        ("1380000000", "another-password", "enter an 11-digit mainland mobile number"),
        ("13800000009", "short", "a password has 8 to 128 characters"),
    ],
)
async def test_create_operator_refuses_what_the_sign_up_refuses(
    database, app, phone, password, message
):
    refused = redcard(
        "users", "create-operator", "--phone", phone, "--password-stdin",
        db=database, stdin=password + "\n",
    )  # fmt: skip
    assert refused.returncode == 1
    assert message in refused.stdout
    assert password not in refused.stdout + refused.stderr
    assert (await log_in(app, "13800000009", password)).status_code == 401


async def test_reset_password_ends_the_old_password_and_its_logins(database, app):
    phone, old, new = "13800000002", "password-before", "password-after"
    made = redcard(  # typed at the prompt, twice
        "users", "create-operator", "--phone", phone, db=database, stdin=f"{old}\n{old}\n"
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert old not in made.stdout + made.stderr
    token = (await log_in(app, phone, old)).json()["token"]
    assert (await me(app, token)).status_code == 200

    reset = redcard(
        "users", "reset-password", "--phone", phone, "--password-stdin", db=database, stdin=new
    )
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "1 logins ended" in reset.stdout
    assert new not in reset.stdout + reset.stderr
    assert (await log_in(app, phone, old)).status_code == 401
    assert (await me(app, token)).status_code == 401
    assert (await log_in(app, phone, new)).status_code == 200


async def test_a_disabled_account_cannot_log_in_and_its_logins_stop(database, app):
    phone, password = "13800000003", "second-operator-pw"
    made = redcard(
        "users", "create-operator", "--phone", phone, "--password-stdin",
        db=database, stdin=password,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    token = (await log_in(app, phone, password)).json()["token"]

    disabled = redcard("users", "disable", "--phone", phone, db=database)
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr
    assert "can no longer log in" in disabled.stdout
    assert (await log_in(app, phone, password)).status_code == 401
    assert (await me(app, token)).status_code == 401

    enabled = redcard("users", "enable", "--phone", phone, db=database)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    assert (await log_in(app, phone, password)).status_code == 200
    assert (await me(app, token)).status_code == 401  # the logins it had stay ended


async def test_the_last_operator_cannot_be_disabled(database, tmp_path):
    alone = tmp_path / "one-operator.db"
    shutil.copy(database.with_name("first-operator-only.db"), alone)
    refused = redcard("users", "disable", "--phone", FIRST, db=alone)
    assert refused.returncode == 1
    assert "this is the last active operator" in refused.stdout
    async with app_on(alone) as app:
        assert (await log_in(app, FIRST, FIRST_PASSWORD)).status_code == 200
