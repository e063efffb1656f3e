"""Benchmark: delivering the outbox to the in-app inbox and to a real SMTP server.

For each database (SQLite: a temp file; PostgreSQL: a fresh database, redcard_bench_delivery)
`--messages` notifications to `--members` members (each with an e-mail address) are written,
then the worker's step (`delivery.service.send_pending`, `--batch` rows per claim) runs until
nothing is due, with two sinks: the inbox and e-mail to an aiosmtpd server on loopback that
accepts everything. Reported: deliveries per second (both sinks together), and that every
message reached both sinks exactly once (0 missing, 0 duplicates).

Target: >= 500 deliveries/s on either database (a sunset's notice to 100,000 members reaches
every inbox and mailbox in under 7 minutes). The last line is one JSON object.
Usage: .venv/bin/python bench/delivery.py [--messages 5000] [--members 500] [--batch 500]
       [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select

from redcard.db import Database
from redcard.delivery import service, sinks
from redcard.delivery.reminders import CARD_EXPIRING_7D
from redcard.delivery.smtp import SmtpSink
from redcard.kit.ids import new_id
from redcard.kit.time import utc_now
from redcard.migrate import upgrade
from redcard.models import Notification, Role, User

ADMIN_URL = os.environ.get("REDCARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "redcard_bench_delivery"
TARGET_RATE = 500.0


class Mailbox:
    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for line in envelope.content.splitlines():
            if line.lower().startswith(b"x-redcard-delivery:"):
                self.ids[line.split(b":", 1)[1].strip().decode()] += 1
        return "250 OK"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'delivery.db'}"
    else:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        parts = urlsplit(ADMIN_URL)
        url = f"{parts.scheme}://{parts.netloc}/{DB_NAME}"
    upgrade(url)
    return url


async def run(url: str, messages: int, members: int, batch: int) -> dict[str, Any]:
    db = Database(url)
    users = [
        {
            "id": new_id(),
            "created_at": utc_now(),
            "role": Role.member.value,
            "phone": f"139{i:08d}",
            "display_name": f"会员{i}",
            "password_hash": "!",
            "email": f"m{i}@example.com",
            "locale": "en" if i % 2 else None,
        }
        for i in range(members)
    ]
    async with db.session_scope() as session:
        await session.execute(insert(User), users)
        notes = [
            {
                "id": new_id(),
                "created_at": utc_now(),
                "next_attempt_at": utc_now(),
                "user_id": users[i % members]["id"],
                "template": CARD_EXPIRING_7D,
                "params": {"ends_at": "2026-12-08T04:00:00+00:00", "link": "https://x/card"},
            }
            for i in range(messages)
        ]
        for start in range(0, messages, 5000):
            await session.execute(insert(Notification), notes[start : start + 5000])
    mailbox = Mailbox()
    port = _port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    sinks.use_sinks(sinks.InboxSink(), SmtpSink("127.0.0.1", port, tls="none"))
    started = time.perf_counter()
    delivered = 0
    try:
        while True:
            async with db.session_scope() as session:
                done = await service.send_pending(session, batch)
            if not done:
                break
            delivered += done
    finally:
        controller.stop()
    elapsed = time.perf_counter() - started
    async with db.session_scope() as session:
        in_inbox = await session.scalar(
            select(func.count()).where(Notification.inbox_at.is_not(None))
        )
        unsent = await session.scalar(select(func.count()).where(Notification.sent_at.is_(None)))
    await db.dispose()
    duplicates = sum(n - 1 for n in mailbox.ids.values())
    missing = (messages - len(mailbox.ids)) + (messages - int(in_inbox or 0)) + int(unsent or 0)
    rate = delivered / elapsed
    return {
        "deliveries": delivered,
        "seconds": round(elapsed, 2),
        "deliveries_per_s": round(rate, 1),
        "missing": missing,
        "duplicates": duplicates,
        "met": rate >= TARGET_RATE and missing == 0 and duplicates == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            url = database(backend, Path(tmp))  # migrations run their own event loop
            results[backend] = asyncio.run(run(url, args.messages, args.members, args.batch))
            r = results[backend]
            print(
                f"{backend}: {r['deliveries']} deliveries (inbox + e-mail) in {r['seconds']} s: "
                f"{r['deliveries_per_s']}/s (target {TARGET_RATE:.0f}/s); "
                f"missing {r['missing']}, duplicates {r['duplicates']}"
            )
    if "postgresql" in results:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    summary = {
        "bench": "delivery",
        "results": results,
        "target_deliveries_per_s": TARGET_RATE,
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
