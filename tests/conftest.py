"""Test harness: every test that takes `db` runs on real SQLite and on real PostgreSQL.

PostgreSQL is not optional: if it cannot be reached the run errors out (it never skips).
Each run gets fresh databases migrated with the project's own migrations; tables are emptied
after every test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

import redcard.models
from redcard.app import create_app
from redcard.config import Settings
from redcard.db import Database
from redcard.kit import time as clock
from redcard.migrate import upgrade
from redcard.order_kinds import register_all
from redcard.payments.channels import Channels
from redcard.payments.sandbox import SandboxChannel
from redcard.payments.sandbox import meta as sandbox_meta
from tests.fixtures.factories import World, make_world
from tests.fixtures.pgdb import create_pg_database, drop_pg_database

pytest_plugins = ["tests.fixtures.browser"]

BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: one database is enough (the page audit); not run on PostgreSQL"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests (concurrency) are deselected, not skipped, on SQLite; SQLite-only
    tests (the page audit, which checks pages, not queries) likewise on PostgreSQL."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        other = {"sqlite": "postgres_only", "postgresql": "sqlite_only"}.get(str(backend))
        if other and item.get_closest_marker(other):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "redcard.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    name = f"redcard_test_{os.getpid()}"
    url = create_pg_database(name)
    upgrade(url)
    yield url
    drop_pg_database(name)


@pytest.fixture(scope="session", autouse=True)
def _order_kinds() -> None:
    """The start-up registration `create_app` and the worker do, for tests that call services
    without either."""
    register_all()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret",
        base_url="http://test",
        sandbox_secret="test-sandbox-secret",
        login_max_failures=5,
    )


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url, pool_size=25)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def sandbox(settings: Settings) -> AsyncIterator[SandboxChannel]:
    channel = SandboxChannel(
        database_url=settings.resolved_sandbox_url(),
        secret=settings.sandbox_secret,
        base_url=settings.base_url,
        auto_deliver=False,
    )
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def channels(sandbox: SandboxChannel) -> Channels:
    return Channels({sandbox.name: sandbox}, default=sandbox.name)


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database, channels: Channels):  # type: ignore[no-untyped-def]
    return create_app(settings, db=database, channels=channels)


@pytest.fixture
async def client(app, sandbox: SandboxChannel) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:

        async def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
            response = await c.post(urlsplit(url).path, content=body, headers=headers)
            return response.status_code

        sandbox.deliver = deliver
        yield c


@pytest.fixture
async def db(database: Database, sandbox: SandboxChannel) -> AsyncIterator[Database]:
    """The database for one test; emptied afterwards (with the sandbox's books)."""
    yield database
    sandbox.faults.clear()
    sandbox.held.clear()
    sandbox.clock_offset = timedelta(0)
    await sandbox.ensure_ready()
    tables = [t.name for t in reversed(redcard.models.Base.metadata.sorted_tables)]
    async with database.engine.begin() as conn:
        if database.is_sqlite:
            for name in tables:
                await conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            await conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)))
    async with sandbox.engine.begin() as conn:
        for table in reversed(sandbox_meta.sorted_tables):
            await conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.unfreeze()


@pytest.fixture
def world_factory(client, db, sandbox):  # type: ignore[no-untyped-def]
    """`make_world` as a fixture: `await world_factory(paying)` gives paying members and two
    operators, logged in."""

    async def make(paying: int = 3) -> World:
        return await make_world(client, db, sandbox, paying)

    return make
