"""Password hashing runs beside the event loop: while logins are hashing, the app still answers
other requests, and no more hashes run at once than there are hashing threads. An unknown
phone is checked against a hash as costly as a real one, so it answers no faster."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator

import pytest
from argon2 import PasswordHasher, extract_parameters

from redcard.accounts import passwords
from tests.fixtures.factories import PASSWORD, new_user

THREADS = 2


class GatedHasher:
    """argon2 whose checks wait at a gate until the test opens it, noting where they ran and
    how many ran at once."""

    def __init__(self, real: PasswordHasher, loop: asyncio.AbstractEventLoop, at_once: int) -> None:
        self.real = real
        self.at_once = at_once
        self.loop = loop
        self.loop_thread = threading.get_ident()
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.running = self.most = self.on_loop = 0
        self.checked: list[str] = []
        self.all_busy = asyncio.Event()

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.checked.append(password_hash)
        if threading.get_ident() == self.loop_thread:
            self.on_loop += 1  # the loop would wait for the gate: do not
            return self.real.verify(password_hash, password)
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            if self.running == self.at_once:
                self.loop.call_soon_threadsafe(self.all_busy.set)
        try:
            self.gate.wait(timeout=60)
            return self.real.verify(password_hash, password)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
async def gated(monkeypatch: pytest.MonkeyPatch, backend: str) -> AsyncIterator[GatedHasher]:
    """Two hashing threads (whatever this machine's CPU count), checks held at a gate. On
    PostgreSQL two logins hash at once; on SQLite one: there every transaction holds the one
    write lock (BEGIN IMMEDIATE, db.py), so the second login waits for the first's commit."""
    monkeypatch.setattr(passwords, "thread_count", lambda: THREADS)
    monkeypatch.setattr(passwords, "_threads", None)
    monkeypatch.setattr(passwords, "_turns", weakref.WeakKeyDictionary())
    cheap = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # the test is about threads
    at_once = THREADS if backend == "postgresql" else 1
    hasher = GatedHasher(cheap, asyncio.get_running_loop(), at_once)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    yield hasher
    hasher.gate.set()
    if passwords._threads is not None:
        passwords._threads.shutdown(wait=True)


async def test_the_app_answers_while_logins_are_hashing(client, db, gated):
    users = [await new_user(db) for _ in range(THREADS + 2)]
    logins = asyncio.gather(
        *(
            client.post("/api/v1/auth/login", json={"phone": u.phone, "password": PASSWORD})
            for u in users
        )
    )
    try:
        busy = asyncio.ensure_future(gated.all_busy.wait())
        await asyncio.wait([busy, logins], timeout=60, return_when=asyncio.FIRST_COMPLETED)
        assert gated.on_loop == 0, "argon2 ran on the event loop"
        assert busy.done(), "the logins never reached the hashing threads"

        # the hashing threads are busy with checks that cannot end before the gate opens,
        # yet the loop still serves a request
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert not logins.done()
        assert gated.running == gated.at_once
    finally:
        gated.gate.set()
        await asyncio.wait([logins], timeout=60)
    assert [a.status_code for a in logins.result()] == [200] * len(users)
    assert gated.most == gated.at_once  # the other logins waited for their turn
    assert len(gated.checked) == len(users)


async def test_an_unknown_phone_is_checked_like_a_known_one(client, db, gated):
    gated.gate.set()
    unknown = await client.post(
        "/api/v1/auth/login", json={"phone": "13912345678", "password": PASSWORD}
    )
    assert unknown.status_code == 401
    assert gated.checked == [passwords.DUMMY_HASH]


async def test_the_dummy_hash_costs_what_a_real_one_does():
    real = await passwords.hash_password(PASSWORD)
    assert extract_parameters(passwords.DUMMY_HASH) == extract_parameters(real)
