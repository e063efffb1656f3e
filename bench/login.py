"""Benchmark: a burst of logins must not stall the tills.

Every login checks an argon2id hash (about 0.2 s of CPU each with the library's defaults). If
that ran on the server's event loop, every request queued behind it, the till's included.

1. Creates a fresh PostgreSQL database (redcard_bench_login), migrates it and seeds what
   bench/redemption.py seeds (its `seed`: synthetic stores, terminals, members with active
   cards), plus 32 members with a real password to log in with.
2. Starts the app as a server runs it (uvicorn, `redcard.app:serve_app`, one worker: the app,
   PostgreSQL and this client share the machine), loopback only.
3. Drives the tills (prepare + commit, 16 concurrent tills, bench/redemption.py's `drive`)
   for `--seconds` alone, then for `--seconds` again while 32 clients log in over and over.
4. Prints the tills' p99 per request in both phases, their ratio and the logins per second.
   The last line is one JSON object.

Target: the tills' p99 with the logins running is at most 2x their p99 without them.
Usage: .venv/bin/python bench/login.py [--seconds 20] [--tills 16] [--logins 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

from sqlalchemy import insert, select

from redcard.accounts.service import create_user
from redcard.db import Database
from redcard.kit.ids import new_id
from redcard.kit.time import utc_now
from redcard.models import Role, User

# bench/ is the script's directory, so its sibling benchmark imports as a module
from redemption import Conn, drive, free_port, fresh_database, pct, seed, start_server

DB_NAME = "redcard_bench_login"
PASSWORD = "bench-password-1"
TARGET_RATIO = 2.0


async def seed_logins(url: str, count: int) -> list[str]:
    """`count` members who can log in with PASSWORD; returns their phones. One is made
    through the accounts service; the others share its hash (checking any costs the same)."""
    db = Database(url)
    phones = [f"173{i:08d}" for i in range(1, count + 1)]
    async with db.session_scope() as session:
        await create_user(
            session, phone=phones[0], password=PASSWORD, display_name="登录1", role=Role.member
        )
        password_hash = await session.scalar(
            select(User.password_hash).where(User.phone == phones[0])
        )
        now = utc_now()
        rows = [
            {
                "id": new_id(),
                "role": Role.member,
                "phone": phone,
                "display_name": f"登录{i}",
                "password_hash": password_hash,
                "created_at": now,
            }
            for i, phone in enumerate(phones[1:], start=2)
        ]
        if rows:
            await session.execute(insert(User), rows)
    await db.dispose()
    return phones


async def log_in_repeatedly(port: int, phones: list[str], stop: asyncio.Event) -> dict[str, object]:
    """One client per phone, each logging in again as soon as its last login answered."""
    login_ms: list[float] = []
    errors: dict[str, int] = {}

    async def client(phone: str) -> None:
        conn = Conn(port)
        body = json.dumps({"phone": phone, "password": PASSWORD}).encode()
        headers = {"Content-Type": "application/json"}
        while not stop.is_set():
            t0 = time.perf_counter()
            status, _ = await conn.post("/api/v1/auth/login", headers, body)
            if status != 200:
                errors[str(status)] = errors.get(str(status), 0) + 1
                continue
            login_ms.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*[client(phone) for phone in phones])
    return {
        "logins": len(login_ms),
        "seconds": time.perf_counter() - started,
        "login_ms": login_ms,
        "errors": errors,
    }


async def tills_with_logins(
    port: int, tills: int, seconds: float, members: list[tuple[int, str]], phones: list[str]
) -> tuple[dict[str, object], dict[str, object]]:
    stop = asyncio.Event()
    logins = asyncio.create_task(log_in_repeatedly(port, phones, stop))
    try:
        till = await drive(port, tills, seconds, members)
    finally:
        stop.set()
    return till, await logins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--tills", type=int, default=16)
    parser.add_argument("--logins", type=int, default=32)
    parser.add_argument("--members", type=int, default=20_000)
    args = parser.parse_args()

    url = fresh_database(DB_NAME)
    t0 = time.perf_counter()
    members = asyncio.run(seed(url, args.members))
    phones = asyncio.run(seed_logins(url, args.logins))
    print(
        f"seeded {len(members)} card holders and {len(phones)} members who log in "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    third = len(members) // 3
    port = free_port()
    server = start_server(url, port, 1)
    try:
        asyncio.run(drive(port, args.tills, 2.0, members[:500]))  # warm-up, not measured
        alone = asyncio.run(drive(port, args.tills, args.seconds, members[500:third]))
        loaded, logins = asyncio.run(
            tills_with_logins(port, args.tills, args.seconds, members[third:], phones)
        )
    finally:
        server.terminate()
        server.wait(timeout=20)

    alone_ms: list[float] = alone["request_ms"]  # type: ignore[assignment]
    loaded_ms: list[float] = loaded["request_ms"]  # type: ignore[assignment]
    login_ms: list[float] = logins["login_ms"]  # type: ignore[assignment]
    p99_alone, p99_loaded = pct(alone_ms, 99), pct(loaded_ms, 99)
    ratio = p99_loaded / p99_alone if p99_alone else float("inf")
    logins_per_s = len(login_ms) / float(logins["seconds"])  # type: ignore[arg-type]
    figures = {
        "till_p99_ms_alone": round(p99_alone, 2),
        "till_p99_ms_with_logins": round(p99_loaded, 2),
        "ratio": round(ratio, 2),
        "till_p50_ms_alone": round(pct(alone_ms, 50), 2),
        "till_p50_ms_with_logins": round(pct(loaded_ms, 50), 2),
        "till_redemptions_per_s_alone": round(alone["rate"], 1),  # type: ignore[call-overload]
        "till_redemptions_per_s_with_logins": round(loaded["rate"], 1),  # type: ignore[call-overload]
        "logins_per_s": round(logins_per_s, 1),
        "login_p50_ms": round(pct(login_ms, 50), 1),
        "login_p99_ms": round(pct(login_ms, 99), 1),
        "till_errors": {**alone["errors"], **loaded["errors"]},  # type: ignore[dict-item]
        "login_errors": logins["errors"],
        "tills": args.tills,
        "login_clients": args.logins,
        "seconds": args.seconds,
    }
    targets = {"ratio_max": TARGET_RATIO}
    met = {"ratio": ratio <= TARGET_RATIO}
    print(
        f"tills alone:       p99 {figures['till_p99_ms_alone']} ms per request "
        f"(p50 {figures['till_p50_ms_alone']} ms), "
        f"{figures['till_redemptions_per_s_alone']} redemptions/s, {args.tills} tills"
    )
    print(
        f"tills with logins: p99 {figures['till_p99_ms_with_logins']} ms per request "
        f"(p50 {figures['till_p50_ms_with_logins']} ms), "
        f"{figures['till_redemptions_per_s_with_logins']} redemptions/s"
    )
    print(
        f"logins:            {figures['logins_per_s']}/s from {args.logins} clients "
        f"(p50 {figures['login_p50_ms']} ms, p99 {figures['login_p99_ms']} ms)"
    )
    print(f"ratio:             {figures['ratio']}  (target <= {TARGET_RATIO})")
    print(
        json.dumps(
            {
                "bench": "login",
                "figures": figures,
                "targets": targets,
                "met": met,
                "cpu_count": os.cpu_count(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
