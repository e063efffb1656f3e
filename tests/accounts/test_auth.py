"""Accounts: signing up refuses bad input and a phone number already taken, logging in is
rate limited, and a logged-out token stops working."""

from __future__ import annotations

import pytest

from redcard.models import User
from tests.fixtures.factories import count, idem, login, new_user


@pytest.mark.parametrize(
    ("phone", "password", "name"),
    [
        ("12345", "long-enough-1", "甲"),
        ("13812345678", "short", "甲"),
        ("13812345678", "long-enough-1", ""),
        ("1381234567x", "long-enough-1", "甲"),
    ],
)
async def test_bad_sign_ups_are_refused(client, db, phone, password, name):
    response = await client.post(
        "/api/v1/auth/signup",
        json={"phone": phone, "password": password, "display_name": name},
        headers=idem(),
    )
    assert response.status_code == 422
    assert await count(db, User) == 0


async def test_phone_numbers_are_unique(client, db):
    body = {"phone": "13812345678", "password": "long-enough-1", "display_name": "甲"}
    assert (await client.post("/api/v1/auth/signup", json=body, headers=idem())).status_code == 201
    again = await client.post(
        "/api/v1/auth/signup", json=body | {"phone": "+86 138-1234-5678"}, headers=idem()
    )
    assert again.status_code == 409
    assert again.json()["error"] == "PhoneTaken"
    assert await count(db, User) == 1


async def test_login_is_rate_limited(client, db):
    user = await new_user(db)
    for _ in range(5):
        wrong = await client.post(
            "/api/v1/auth/login", json={"phone": user.phone, "password": "wrong-password"}
        )
        assert wrong.status_code == 401
    locked = await client.post(
        "/api/v1/auth/login", json={"phone": user.phone, "password": "correct-horse-9"}
    )
    assert locked.status_code == 429
    assert locked.json()["error"] == "LoginRateLimited"


async def test_logged_out_token_stops_working(client, db):
    headers = await login(client, await new_user(db))
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
