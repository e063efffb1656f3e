"""/healthz and /readyz: what a load balancer and an orchestrator see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from redcard.app import create_app
from redcard.config import Settings
from redcard.db import Database
from redcard.migrate import upgrade_async
from redcard.payments.channels import Channels


@pytest.fixture
async def make_client() -> AsyncIterator:  # type: ignore[type-arg]
    """An app on a database of the test's own (not the suite's shared one)."""
    made: list[tuple[httpx.AsyncClient, Database, Channels]] = []

    async def make(url: str) -> httpx.AsyncClient:
        settings = Settings(database_url=url, _env_file=None)
        database = Database(url)
        channels = Channels({}, default="none")
        app = create_app(settings, db=database, channels=channels)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        made.append((client, database, channels))
        return client

    yield make
    for client, database, _ in made:
        await client.aclose()
        await database.dispose()


async def test_ready_when_the_database_answers_and_migrations_are_current(client, db) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["migrations"] == "current"
    assert "replica" not in ready.json()  # none configured


async def test_not_ready_when_a_migration_is_pending(make_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    await upgrade_async(url, "0013")  # one migration behind the code
    client = await make_client(url)
    assert (await client.get("/healthz")).status_code == 200  # up, but not ready
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["migrations"]["status"] == "pending"
    assert body["migrations"]["database"] == ["0013"]


async def test_not_ready_when_the_database_is_down(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client("postgresql://postgres@127.0.0.1:1/nothing_listens_here")
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"].startswith("unavailable")


async def test_every_response_carries_a_request_id(client, db) -> None:  # type: ignore[no-untyped-def]
    given = await client.get("/healthz", headers={"X-Request-ID": "till-7-0001"})
    assert given.headers["x-request-id"] == "till-7-0001"
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    hostile = await client.get("/healthz", headers={"X-Request-ID": 'a b"<script>'})
    assert hostile.headers["x-request-id"] != 'a b"<script>'


async def test_still_ready_when_the_database_is_ahead_of_this_code(
    make_client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """During a release the new migration runs before old processes are replaced."""
    url = f"sqlite:///{tmp_path / 'ahead.db'}"
    await upgrade_async(url)
    database = Database(url)
    async with database.session_scope() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    await database.dispose()
    client = await make_client(url)
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["migrations"]["status"] == "database ahead of this code"
