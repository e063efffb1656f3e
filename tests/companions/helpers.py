"""Moves of the companion card through the API, for the companion tests."""

from __future__ import annotations

from typing import Any

import httpx

from redcard.models import User
from tests.fixtures.factories import idem


async def invite(client: httpx.AsyncClient, primary_h: dict[str, str], who: User) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/me/companion/invitations", json={"phone": who.phone}, headers=primary_h | idem()
    )
    assert response.status_code == 201, response.text
    return response.json()


async def accept(
    client: httpx.AsyncClient, companion_h: dict[str, str], invitation_id: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/me/companion/invitations/{invitation_id}/accept", headers=companion_h | idem()
    )


async def pair(
    client: httpx.AsyncClient,
    primary_h: dict[str, str],
    companion: User,
    companion_h: dict[str, str],
) -> str:
    """Invite and accept: returns the companionship's id."""
    sent = await invite(client, primary_h, companion)
    accepted = await accept(client, companion_h, sent["id"])
    assert accepted.status_code == 200, accepted.text
    return str(sent["id"])


async def prepare(client: httpx.AsyncClient, till_h: dict[str, str], code: str) -> httpx.Response:
    return await client.post(
        "/api/v1/redemptions/prepare", json={"code": code, "bill_yuan": "100.00"}, headers=till_h
    )


async def redeem(client: httpx.AsyncClient, till_h: dict[str, str], code: str) -> dict[str, Any]:
    """Prepare and commit a ¥100 bill; the committed redemption."""
    preview = await prepare(client, till_h, code)
    assert preview.status_code == 201, preview.text
    done = await client.post(
        f"/api/v1/redemptions/{preview.json()['id']}/commit", headers=till_h | idem()
    )
    assert done.status_code == 200, done.text
    return done.json()
