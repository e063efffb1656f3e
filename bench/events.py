"""Benchmark: a registration rush on one popular event (the events hot path).

Every registration takes the same event row (the conditional `registered < capacity` UPDATE),
so this measures how fast PostgreSQL serialises seat-takers plus waitlist numbering.

1. Creates a fresh PostgreSQL database (redcard_bench_events), migrates it, seeds N synthetic
   members with active cards and one event with C seats.
2. Runs N registrations through `events.service.register` with K concurrent sessions (each its
   own transaction, as K request handlers would), in-process (no HTTP: the HTTP layer is
   measured by bench/redemption.py).
3. Checks the outcome (exactly C seated, N - C waitlisted, positions 1..N-C) and prints the rate
   and latency percentiles. The last line is one JSON object.

Targets: >= 300 registrations/s and p99 < 250 ms at 32 concurrent sessions; zero overbooking.
Usage: .venv/bin/python bench/events.py [--members 2000] [--seats 500] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import func, insert, select

from redcard.db import Database
from redcard.events import service
from redcard.events.schemas import EventCreate
from redcard.kit.ids import new_id
from redcard.kit.time import utc_now
from redcard.membership import service as membership
from redcard.membership.schemas import PlanCreate
from redcard.migrate import upgrade
from redcard.models import (
    Event,
    EventRegistration,
    Membership,
    PlanKind,
    RefundPolicy,
    RegistrationStatus,
    Role,
    User,
)
from redcard.payments.channels import Channels

ADMIN_URL = os.environ.get("REDCARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "redcard_bench_events"
TARGET_RATE = 300.0
TARGET_P99_MS = 250.0


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    parts = urlsplit(ADMIN_URL)
    url = f"{parts.scheme}://{parts.netloc}/{DB_NAME}"
    upgrade(url)
    return url


async def seed(db: Database, members: int, seats: int) -> tuple[uuid.UUID, list[User]]:
    now = utc_now()
    async with db.session_scope() as session:
        await membership.publish_terms(session, membership.MEMBERSHIP_TERMS, "bench", "bench")
        plan = await membership.create_plan(
            session,
            PlanCreate(
                code="annual",
                name="bench",
                kind=PlanKind.paid,
                price_fen=16800,
                duration_days=365,
                refund_policy=RefundPolicy.full,
            ),
        )
        operator = User(
            role=Role.operator, phone="17000000000", display_name="op", password_hash="!"
        )
        session.add(operator)
        users, cards = [], []
        for i in range(members):
            uid = new_id()
            users.append(
                {
                    "id": uid,
                    "role": Role.member,
                    "phone": f"173{i:08d}",
                    "display_name": f"会员{i}",
                    "password_hash": "!",
                    "created_at": now,
                }
            )
            cards.append(
                {
                    "id": new_id(),
                    "member_id": uid,
                    "plan_id": plan.id,
                    "kind": PlanKind.paid,
                    "status": "active",
                    "starts_at": now - timedelta(days=1),
                    "ends_at": now + timedelta(days=364),
                    "auto_renew": False,
                    "created_at": now,
                }
            )
        await session.execute(insert(User), users)
        await session.execute(insert(Membership), cards)
        await session.flush()
        start = now + timedelta(days=3)
        event = await service.create_event(
            session,
            operator,
            EventCreate(
                title="bench",
                venue="bench",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                capacity=seats,
            ),
        )
        members_rows = list(await session.scalars(select(User).where(User.role == Role.member)))
        return event.id, members_rows


async def run(url: str, members: int, seats: int, clients: int) -> dict[str, object]:
    db = Database(url, pool_size=clients)
    event_id, users = await seed(db, members, seats)
    channels = Channels({}, default="none")
    queue: asyncio.Queue[User] = asyncio.Queue()
    for u in users:
        queue.put_nowait(u)
    latencies: list[float] = []

    async def client() -> None:
        while not queue.empty():
            user = queue.get_nowait()
            t0 = time.perf_counter()
            async with db.session_scope() as session:
                await service.register(session, channels, user, event_id, base_url="http://b")
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    async with db.session_scope() as session:
        event = await session.get_one(Event, event_id)
        seated = await session.scalar(
            select(func.count()).where(EventRegistration.status == RegistrationStatus.registered)
        )
        waiting = await session.scalar(
            select(func.count()).where(EventRegistration.status == RegistrationStatus.waitlisted)
        )
        top = await session.scalar(select(func.max(EventRegistration.waitlist_position)))
    await db.dispose()
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    correct = event.registered == seats == seated and waiting == members - seats == (top or 0)
    latencies.sort()
    rate = members / elapsed
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return {
        "bench": "events_registration_rush",
        "members": members,
        "seats": seats,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "registrations_per_s": round(rate, 1),
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "seated": seated,
        "waitlisted": waiting,
        "correct": correct,
        "targets": {"registrations_per_s": TARGET_RATE, "p99_ms": TARGET_P99_MS, "overbooked": 0},
        "met": correct and rate >= TARGET_RATE and p99 < TARGET_P99_MS,
        "cpu_count": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--seats", type=int, default=500)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    url = fresh_database()  # migrations run their own event loop
    result = asyncio.run(run(url, args.members, args.seats, args.clients))
    print(
        f"registration rush: {result['members']} members, {result['seats']} seats, "
        f"{result['clients']} concurrent sessions"
    )
    print(
        f"  {result['registrations_per_s']} registrations/s (target >= {TARGET_RATE}), "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms (target < {TARGET_P99_MS})"
    )
    print(
        f"  seated {result['seated']}, waitlisted {result['waitlisted']}, "
        f"correct={result['correct']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
