"""Reports read from a real streaming standby (made with pg_basebackup on this machine), and
fall back to the primary when it lags beyond the setting or stops."""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from redcard.app import create_app
from redcard.config import Settings
from redcard.db import Database
from redcard.migrate import upgrade_async
from redcard.models import Role
from redcard.payments.channels import Channels
from tests.fixtures.factories import create_member, login
from tests.fixtures.pgcluster import (
    Cluster,
    cluster_root,
    make_primary,
    make_standby,
    wait_replayed,
)


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[Cluster, Cluster]]:
    root = cluster_root()
    primary = make_primary(root)
    standby = None
    try:
        standby = make_standby(primary, root)
        yield primary, standby
    finally:
        for cluster in (standby, primary):
            if cluster is not None:
                with contextlib.suppress(Exception):  # already stopped by the test
                    cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def app_on(clusters: tuple[Cluster, Cluster]) -> AsyncIterator:  # type: ignore[type-arg]
    primary, standby = clusters
    await upgrade_async(primary.url)
    made: list[tuple[httpx.AsyncClient, Database]] = []

    async def make(max_lag: float) -> tuple[httpx.AsyncClient, Database]:
        settings = Settings(
            database_url=primary.url,
            replica_url=standby.url,
            replica_max_lag_seconds=max_lag,
            _env_file=None,
        )
        database = Database(
            primary.url,
            replica_url=standby.url,
            replica_max_lag_seconds=max_lag,
            replica_check_seconds=0,  # re-check on every report: the test changes the standby
        )
        app = create_app(settings, db=database, channels=Channels({}, default="none"))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        made.append((client, database))
        return client, database

    yield make
    for client, database in made:
        await client.aclose()
        await database.dispose()


def _queued(primary: Cluster) -> None:
    """One notification waiting in the outbox (its user first)."""
    user = uuid.uuid4()
    primary.sql(
        "INSERT INTO users (id, phone, password_hash, display_name, role, created_at) VALUES "
        f"('{user}', '139{user.int % 10**8:08d}', 'x', 'r', 'member', now())"
    )
    primary.sql(
        "INSERT INTO notifications (id, user_id, template, params, created_at) VALUES "
        f"('{uuid.uuid4()}', '{user}', 'card_expiring', '{{}}', now())"
    )


def _depth(text: str) -> int:
    found = re.search(r'^redcard_queue_depth\{queue="notifications"\} (\S+)$', text, re.M)
    assert found, text
    return int(float(found.group(1)))


async def test_reports_read_the_standby_and_fall_back(app_on, clusters) -> None:  # type: ignore[no-untyped-def]
    primary, standby = clusters
    client, database = await app_on(max_lag=60)
    wait_replayed(primary, standby)

    # replay paused: what the primary writes now is on the primary only
    standby.sql("SELECT pg_wal_replay_pause()")
    _queued(primary)
    before = dict(database.report_reads)
    scrape = await client.get("/metrics")
    assert _depth(scrape.text) == 0  # the standby's view: the report did not touch the primary
    assert database.report_reads["replica"] == before["replica"] + 1
    ready = (await client.get("/readyz")).json()
    assert ready["replica"]["usable"] is True

    # the operator console's ledger audit is a report too
    async with database.session_scope() as session:
        operator = await create_member(session, name="运营", role=Role.operator)
    headers = await login(client, operator)
    before = dict(database.report_reads)
    console = await client.get("/operator", headers=headers)
    assert console.status_code == 200, console.text
    assert database.report_reads["replica"] == before["replica"] + 1
    assert database.report_reads["primary"] == before["primary"]

    # lagging beyond the setting: reports go to the primary, readiness still passes
    strict, strict_db = await app_on(max_lag=0)
    _queued(primary)  # more WAL the paused standby has not replayed
    assert _depth((await strict.get("/metrics")).text) == 2
    assert strict_db.report_reads["primary"] == 1
    ready = await strict.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["replica"]["usable"] is False
    assert "lagging" in ready.json()["replica"]["error"]

    # the standby stops: the app works on, reading the primary
    standby.sql("SELECT pg_wal_replay_resume()")
    wait_replayed(primary, standby)
    assert _depth((await client.get("/metrics")).text) == 2  # caught up, read on the standby
    standby.stop()
    try:
        scrape = await client.get("/metrics")
        assert scrape.status_code == 200
        assert _depth(scrape.text) == 2
        assert database.report_reads["primary"] >= 1
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["replica"]["usable"] is False
        assert (await client.get("/api/v1/plans")).status_code == 200
    finally:
        standby.start()
