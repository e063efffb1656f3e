"""Till visits for the economics tests: a member's fresh code rung up at a shop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from redcard.kit import time as clock
from tests.fixtures.factories import code_for, idem, till


async def visit(client, db, shop, member, bill_yuan: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    clock.advance(timedelta(minutes=1))  # a fresh code each time
    preview = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, member), "bill_yuan": bill_yuan},
        headers=till(shop),
    )
    assert preview.status_code == 201, preview.text
    done = await client.post(
        f"/api/v1/redemptions/{preview.json()['id']}/commit", headers=till(shop) | idem()
    )
    assert done.status_code == 200, done.text
    return done.json()


async def undo(client, shop, redemption: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """The till takes a visit back."""
    back = await client.post(
        f"/api/v1/redemptions/{redemption['id']}/undo", headers=till(shop) | idem()
    )
    assert back.status_code == 200, back.text
