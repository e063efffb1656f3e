"""Who may call what. Every API route declares its roles; anonymous callers get 401 on every
route that needs a login; members never see each other's data."""

from __future__ import annotations

import re
import uuid

from fastapi import routing
from fastapi.routing import APIRoute

from redcard.deps import public
from tests.fixtures.factories import buy_card, idem, login, new_user, setup_plans


def _declared_roles(route) -> set[str]:  # type: ignore[no-untyped-def]
    """What a route declares: 'public' or the roles of its allow(...) dependency."""
    found: set[str] = set()

    def walk(dependant) -> None:  # type: ignore[no-untyped-def]
        for dep in dependant.dependencies:
            call = dep.call
            if call is public:
                found.add("public")
            roles = getattr(call, "__redcard_roles__", None)
            if roles:
                found.update(str(r) for r in roles)
            walk(dep)

    walk(route.dependant)
    return found


def _api_routes(app) -> list:  # type: ignore[no-untyped-def]
    """Every effective API route (FastAPI keeps included routers nested)."""
    return [
        c
        for c in routing.iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute) and c.path.startswith("/api/v1")
    ]


def test_every_api_route_declares_who_may_call_it(app):
    undeclared = [
        f"{sorted(r.methods)} {r.path}" for r in _api_routes(app) if not _declared_roles(r)
    ]
    assert undeclared == []


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def test_anonymous_gets_401_on_every_route_that_needs_a_login(app, client, db):
    checked = 0
    for route in _api_routes(app):
        if "public" in _declared_roles(route):
            continue
        for method in route.methods - {"HEAD", "OPTIONS"}:
            response = await client.request(method, _concrete(route.path), json={}, headers=idem())
            assert response.status_code == 401, f"{method} {route.path}: {response.status_code}"
            checked += 1
    assert checked >= 10


async def test_wrong_role_gets_403(client, db):
    await setup_plans(db)
    member = await login(client, await new_user(db))
    response = await client.post(
        "/api/v1/operator/plans",
        json={"code": "x1", "name": "x", "price_fen": 100, "duration_days": 30},
        headers=member | idem(),
    )
    assert response.status_code == 403
    assert (await client.get("/api/v1/operator/ledger/check", headers=member)).status_code == 403


async def test_a_member_cannot_read_another_members_card_or_orders(client, db, sandbox):
    plans = await setup_plans(db)
    alice = await login(client, await new_user(db, name="甲"))
    bob = await login(client, await new_user(db, name="乙"))
    order = await buy_card(client, sandbox, alice, plans.annual.id)

    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=bob)).status_code == 404
    refresh = await client.post(f"/api/v1/orders/{order['id']}/refresh", headers=bob)
    assert refresh.status_code == 404
    assert (await client.get("/api/v1/orders", headers=bob)).json() == []
    assert (await client.get("/api/v1/memberships", headers=bob)).json() == []
    assert (await client.get("/api/v1/memberships/current", headers=bob)).status_code == 404
    assert len((await client.get("/api/v1/orders", headers=alice)).json()) == 1
