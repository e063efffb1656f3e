"""Benchmark: the nearby search over 100,000 stores, on SQLite and PostgreSQL.

1. For each database (SQLite: a temp file; PostgreSQL: a fresh database, redcard_bench_discovery)
   migrates and loads the real member-store rows of data/shanghai_stores.csv (the demo's
   categories) plus synthetic stores (source="synthetic") up to `--stores`: half jittered
   (2.5 km, 1 sigma) around real stores (where shops cluster), half spread over Shanghai's
   box; chains, random plausible scores, badges, inspections, reviews and opening hours.
2. In-process: `--timed` nearby queries (radius 3 km, ranked, first page of 20) at points
   near real stores, with one filter: a category drawn at random (the headline figure), and
   again with "curated only" and with "open now" (reported beside it); p50/p99. First once
   from a cold snapshot (discovery/snapshot.py: every cell read from the database, as in a
   process just started or after a store changed), reported as the cold first pass; then
   warm, as a serving process runs between writes. The process's peak RSS is reported.
3. Correctness: `--queries` random queries; each first page and total compared with a
   brute-force scan of every row (loaded once) ranked by the same function. Mismatches
   are printed; the target is 0.
4. HTTP: the app served by uvicorn (`redcard.app:serve_app`, `--workers` processes, by
   default 2: one per core of the 2-core machine of docs/performance.md) on loopback, 16
   concurrent keep-alive clients calling GET /api/v1/stores/nearby for `--seconds` after as
   long a warm-up; p50/p99.

Targets: p99 <= 20 ms in-process, <= 50 ms over HTTP, 0 mismatches. The last line is one
JSON object with the figures, the targets and the machine's core count.
Usage: .venv/bin/python bench/discovery.py [--stores 100000] [--queries 500] [--timed 1000]
       [--seconds 15] [--clients 16] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import secrets
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from sqlalchemy import insert, select

from redcard.app import tune_gc_for_serving
from redcard.db import Database
from redcard.discovery import reads, snapshot
from redcard.discovery.ranking import Block, as_uuid, rank_block
from redcard.discovery.reads import read_scope
from redcard.discovery.search import (
    Filters,
    NearbyQuery,
    criteria,
    nearby,
    snapshot_columns,
    visible,
)
from redcard.kit import time as clock
from redcard.kit.geo import EARTH_RADIUS_M
from redcard.kit.ids import new_id
from redcard.merchants.demo import MEMBER_STORE_CATEGORIES, member_store_rows
from redcard.migrate import upgrade
from redcard.models import Merchant, MerchantStatus, Role, Store, StoreStatus, User

# bench/ is the script's directory, so its sibling benchmark imports as a module
from redemption import ADMIN_URL, db_url, free_port, pct, start_server

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "data" / "shanghai_stores.csv"
PG_NAME = "redcard_bench_discovery"
BBOX = (30.70, 31.55, 121.00, 121.90)  # south, north, west, east: Shanghai's built-up area
RADIUS_M = 3000
JITTER_M = 2500  # half the synthetic stores: this far (1 sigma) around a real one
PAGE = 20
TARGET_P99_MS = 20.0
TARGET_HTTP_P99_MS = 50.0
CATEGORIES = sorted(set(MEMBER_STORE_CATEGORIES.values()))
HOURS = [
    "Mo-Su 10:00-22:00",
    "Mo-Fr 07:30-20:00; Sa,Su 09:00-18:00",
    "Mo-Su 11:00-14:00,17:00-22:00",
    "Mo-Su 18:00-02:00",
    "Tu-Su 10:00-21:00",
    None,
]
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # noon in Shanghai


def jitter(rng: random.Random, lat: float, lng: float, sigma_m: float) -> tuple[float, float]:
    north, east = rng.gauss(0, sigma_m), rng.gauss(0, sigma_m)
    lat += (north / EARTH_RADIUS_M) * 57.29577951308232
    lng += (east / (EARTH_RADIUS_M * 0.8555)) * 57.29577951308232  # cos(31.2°)
    return lat, lng


def curation(rng: random.Random) -> dict[str, Any]:
    """Plausible figures: most stores unscored; the scored ones 2.5-4.9; a badge for some of
    the best, with an inspection in the last year."""
    if rng.random() < 0.45:
        return {"score": None, "rating_avg": None, "review_count": rng.randint(0, 3)}
    score = round(rng.uniform(2.5, 4.9), 2)
    count = rng.randint(3, 400)
    curated = score >= 4.2 and rng.random() < 0.6
    days = rng.randint(0, 720)
    return {
        "score": score,
        "rating_avg": round(min(5.0, score + rng.uniform(-0.2, 0.3)), 2),
        "review_count": count,
        "last_review_at": NOW - timedelta(days=days, minutes=rng.randint(0, 1440)),
        "curated": curated,
        "curated_at": NOW - timedelta(days=30) if curated else None,
        "inspected_on": (NOW - timedelta(days=rng.randint(0, 360))).date() if curated else None,
    }


def store_values(
    rng: random.Random, merchant_id: Any, name: str, category: str, lat: float, lng: float
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "merchant_id": merchant_id,
        "name": name[:200],
        "category": category,
        "lat": lat,
        "lng": lng,
        "opening_hours": rng.choice(HOURS),
        "status": StoreStatus.live if rng.random() < 0.97 else StoreStatus.paused,
        "discount_bp": 1000 + 100 * rng.randint(0, 10),
        "discount_cap_fen": rng.choice([None, None, 5000, 10000]),
        "min_bill_fen": rng.choice([0, 0, 2000]),
        "pay_code": secrets.token_hex(8),
        "created_at": NOW,
        **curation(rng),
    }


async def seed(url: str, total: int, rng: random.Random) -> list[tuple[float, float]]:
    """Loads the stores; returns the real stores' points (where the queries are asked)."""
    real = member_store_rows(CSV)
    db = Database(url)
    users: list[dict[str, Any]] = []
    merchants: list[dict[str, Any]] = []

    def merchant(name: str, status: MerchantStatus = MerchantStatus.approved) -> Any:
        owner, mid = new_id(), new_id()
        phone = f"17{len(users):09d}"
        users.append(
            {
                "id": owner,
                "role": Role.merchant_staff,
                "phone": phone,
                "display_name": "店主",
                "password_hash": "!",
                "created_at": NOW,
            }
        )
        merchants.append(
            {
                "id": mid,
                "name": name[:100],
                "contact_name": "店主",
                "contact_phone": phone,
                "owner_id": owner,
                "status": status,
                "created_at": NOW,
            }
        )
        return mid

    stores: list[dict[str, Any]] = []
    by_name: dict[str, Any] = {}
    points = []
    for row in real:
        name = row["name"].strip()
        mid = by_name.get(name) or by_name.setdefault(name, merchant(name))
        lat, lng = float(row["lat"]), float(row["lng"])
        points.append((lat, lng))
        values = store_values(rng, mid, name, MEMBER_STORE_CATEGORIES[row["category"]], lat, lng)
        stores.append(values | {"source": row["source_id"][:64], "district": row["district"]})
    chains = [merchant(f"连锁{i}") for i in range(300)]
    singles = [
        merchant(f"小店{i}", MerchantStatus.left if i % 50 == 0 else MerchantStatus.approved)
        for i in range(3000)
    ]
    weights = [0.35, 0.25, 0.08, 0.05, 0.12, 0.08, 0.07]  # food, cafe, bakery, bar, ...
    kinds = ["food", "cafe", "bakery", "bar", "beauty", "fitness", "leisure"]
    for i in range(max(0, total - len(stores))):
        if i % 2 == 0:
            lat, lng = jitter(rng, *rng.choice(points), JITTER_M)
        else:
            lat, lng = rng.uniform(BBOX[0], BBOX[1]), rng.uniform(BBOX[2], BBOX[3])
        mid = rng.choice(chains) if rng.random() < 0.3 else rng.choice(singles)
        category = rng.choices(kinds, weights)[0]
        name = rng.choice("星小老新金蓝") + rng.choice("记家味坊") + f" 合成{i}号店"
        stores.append(store_values(rng, mid, name, category, lat, lng) | {"source": "synthetic"})
    async with db.session_scope() as session:
        for table, rows in ((User, users), (Merchant, merchants), (Store, stores)):
            for start in range(0, len(rows), 2000):
                await session.execute(insert(table), rows[start : start + 2000])
    await db.dispose()
    if url.startswith("sqlite"):
        async with Database(url).engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
    else:  # as autovacuum would leave it: statistics, and the visibility map for index-only
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE")
    return points


FILTERS = ("category", "curated_only", "open_now")


def random_query(
    rng: random.Random, points: Sequence[tuple[float, float]], kind: str = "category"
) -> NearbyQuery:
    """Near a real store (where members are), with one filter: a category drawn at random
    (the headline figure), "curated only" or "open now"."""
    lat, lng = jitter(rng, *rng.choice(points), 500)
    filters = (
        Filters(category=rng.choice(CATEGORIES))
        if kind == "category"
        else Filters(curated_only=True)
        if kind == "curated_only"
        else Filters(open_now=True)
    )
    return NearbyQuery(lat, lng, RADIUS_M, filters, limit=PAGE)


async def in_process(db: Database, queries: list[NearbyQuery]) -> dict[str, Any]:
    """Wall and CPU time per query (CPU: this process, the driver's thread included, so a
    busy machine shows as wall time above CPU time), and the matches' sizes."""
    wall, cpu, totals = [], [], []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.process_time()
        async with db.sessionmaker() as primary, read_scope(db, primary) as session:
            page = await nearby(session, query)  # as the endpoint reads
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        totals.append(page.total)
    return {
        "queries": len(queries),
        "p50_ms": round(pct(wall, 50), 2),
        "p99_ms": round(pct(wall, 99), 2),
        "cpu_p50_ms": round(pct(cpu, 50), 2),
        "cpu_p99_ms": round(pct(cpu, 99), 2),
        "matches_p50": pct([float(t) for t in totals], 50),
        "matches_max": max(totals),
    }


async def check(db: Database, queries: list[NearbyQuery]) -> tuple[int, int]:
    """(mismatches, stores returned) of `nearby` against a scan of every row."""
    async with db.sessionmaker() as session:
        conn = await session.connection()
        result = await conn.execute(
            select(*snapshot_columns())
            .join(Merchant, Merchant.id == Store.merchant_id)
            .where(visible())
        )
        everything = Block.of(result.cursor.fetchall())  # once: the scan is the same each time
    mismatches = returned = 0
    for query in queries:
        async with db.sessionmaker() as primary, read_scope(db, primary) as session:
            got = await nearby(session, query)
        ranked = rank_block(everything, criteria(query), {}, clock.utc_now())
        found = ranked.page_at(query.limit, 0)
        want = [as_uuid(r.store_id) for r in found[0]] if found else []
        returned += len(got.hits)
        if [h.store_id for h in got.hits] != want or got.total != len(ranked):
            mismatches += 1
            print(
                f"  mismatch at {query}: {len(got.hits)}/{got.total} vs {len(want)}/{len(ranked)}"
            )
    return mismatches, returned


async def http_get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
) -> tuple[int, bytes]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    raw = await reader.readuntil(b"\r\n\r\n")
    status = int(raw.split(b" ", 2)[1])
    match = re.search(rb"(?i)content-length: *(\d+)", raw)
    body = await reader.readexactly(int(match.group(1))) if match else b""
    return status, body


async def over_http(
    port: int, queries: list[NearbyQuery], clients: int, seconds: float
) -> dict[str, Any]:
    times: list[float] = []
    errors: dict[int, int] = {}
    stop_at = time.perf_counter() + seconds

    def path(q: NearbyQuery) -> str:
        params: dict[str, Any] = {"lat": q.lat, "lng": q.lng, "radius": q.radius_m, "limit": 20}
        if q.filters.category:
            params["category"] = q.filters.category
        if q.filters.curated_only:
            params["curated_only"] = "true"
        if q.filters.open_now:
            params["open_now"] = "true"
        return "/api/v1/stores/nearby?" + urlencode(params)

    paths = [path(q) for q in queries]

    async def client(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = n
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            status, _ = await http_get(reader, writer, paths[i % len(paths)])
            times.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors[status] = errors.get(status, 0) + 1
            i += clients
        writer.close()

    # a short warm-up, not counted
    await asyncio.gather(*(client(n) for n in range(clients)))
    times.clear()
    stop_at = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(times),
        "per_s": round(len(times) / elapsed, 1),
        "p50_ms": round(pct(times, 50), 2),
        "p99_ms": round(pct(times, 99), 2),
        "errors": errors,
    }


def fresh_pg() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_NAME}"')
    return db_url(PG_NAME)


def drop_pg() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    url = f"sqlite:///{tmp / 'discovery.db'}" if backend == "sqlite" else fresh_pg()
    try:
        upgrade(url)  # migrations run their own event loop
        rng = random.Random(args.seed)
        started = time.perf_counter()
        points = asyncio.run(seed(url, args.stores, rng))
        seeded_s = time.perf_counter() - started
        timed = {
            kind: [random_query(rng, points, kind) for _ in range(args.timed)] for kind in FILTERS
        }
        checked = [random_query(rng, points, FILTERS[n % 3]) for n in range(args.queries)]

        async def measure() -> tuple[dict[str, Any], int, int]:
            db = Database(url)
            clock.freeze(NOW)
            try:
                tune_gc_for_serving()  # as the server process runs (redcard.app)
                snapshot.forget()
                # cold: a process just started, every cell read from the database once
                cold = await in_process(db, timed["category"])
                for kind in FILTERS:  # warm: every cell these queries touch already read
                    await in_process(db, timed[kind])
                figures = {kind: await in_process(db, timed[kind]) for kind in FILTERS}
                figures["cold"] = cold
                mismatches, returned = await check(db, checked)
            finally:
                clock.unfreeze()
                await reads.dispose(db)
                await db.dispose()
            return figures, mismatches, returned

        load_before = os.getloadavg()[0]
        by_filter, mismatches, returned = asyncio.run(measure())
        times = by_filter["category"]
        cold = by_filter.pop("cold")
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        port = free_port()
        server = start_server(url, port, args.workers)
        try:
            http = asyncio.run(over_http(port, timed["category"], args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        if backend != "sqlite":
            drop_pg()
    result = {
        "stores": args.stores,
        "seed_s": round(seeded_s, 1),
        "in_process": times,
        "in_process_cold_first_pass": cold,
        "max_rss_mb": round(rss_mb),
        "in_process_other_filters": {k: v for k, v in by_filter.items() if k != "category"},
        "http": http | {"uvicorn_workers": args.workers},
        "load_average_1m": round(load_before, 2),
        "checked": len(checked),
        "mismatches": mismatches,
        "hits_checked": returned,
    }
    print(
        f"{backend}: {args.stores} stores (seeded in {seeded_s:.0f} s); in-process p50 "
        f"{times['p50_ms']} ms, p99 {times['p99_ms']} ms (target <= {TARGET_P99_MS}; "
        f"cold first pass p50 {cold['p50_ms']} ms, p99 {cold['p99_ms']} ms); "
        f"HTTP x{args.clients} p50 {http['p50_ms']} ms, p99 "
        f"{http['p99_ms']} ms (target <= {TARGET_HTTP_P99_MS}), {http['per_s']}/s, errors "
        f"{http['errors']}; {mismatches} mismatches in {len(checked)} queries vs brute force"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500, help="checked against brute force")
    parser.add_argument("--timed", type=int, default=1000, help="timed in-process queries")
    parser.add_argument("--seconds", type=float, default=15, help="of HTTP load")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn worker processes (one per core here)"
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            figures[backend] = run_backend(backend, args, Path(tmp))
    met = all(
        f["in_process"]["p99_ms"] <= TARGET_P99_MS
        and f["http"]["p99_ms"] <= TARGET_HTTP_P99_MS
        and f["mismatches"] == 0
        and not f["http"]["errors"]
        for f in figures.values()
    )
    print(
        json.dumps(
            {
                "bench": "discovery_nearby",
                "radius_m": RADIUS_M,
                "page": PAGE,
                "figures": figures,
                "targets": {
                    "in_process_p99_ms": TARGET_P99_MS,
                    "http_p99_ms": TARGET_HTTP_P99_MS,
                    "mismatches": 0,
                },
                "met": met,
                "cpu_count": os.cpu_count(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
