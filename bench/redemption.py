"""Benchmark: in-store redemption (prepare + commit) over HTTP vs pgbench running the same SQL.

1. Creates a fresh PostgreSQL database (redcard_bench), migrates it, seeds synthetic data
   (source='synthetic'): 32 merchants/stores/terminals and N members with active cards.
2. Starts the app as a server runs it (uvicorn, `redcard.app:serve_app`: the collector tuned
   for serving; one worker by default, since the app, PostgreSQL and this client share the
   machine's 2 cores), loopback only, and drives prepare+commit with 32 concurrent
   clients (a minimal keep-alive HTTP/1.1 client on asyncio streams, so the load generator
   costs little CPU on the shared machine) for a bounded time.
3. In the same run, pgbench replays the same reads and writes (the statements the app issues
   for one prepare and one commit, two transactions) at the same concurrency.
4. Prints both rates, their ratio and latency percentiles. The last line is one JSON object.
5. Also measures the app's own CPU per prepare + commit: `--cpu-pairs` sequential pairs
   through the ASGI app in this process (no HTTP server, no concurrency), so the figure
   hardly depends on what else the shared machine is doing.

Targets: committed redemptions/s >= 25% of pgbench's rate; p99 < 50 ms at 32 clients.
Usage: .venv/bin/python bench/redemption.py [--seconds 15] [--clients 32] [--workers 1]
       .venv/bin/python bench/redemption.py --cpu-only [--cpu-pairs 300] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import json
import os
import pstats
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import insert

from redcard.db import Database
from redcard.kit.ids import new_id
from redcard.kit.time import utc_now
from redcard.membership import service as membership
from redcard.membership.schemas import PlanCreate
from redcard.migrate import upgrade
from redcard.models import (
    MemberCode,
    Membership,
    Merchant,
    MerchantStatus,
    PlanKind,
    RefundPolicy,
    Role,
    Store,
    StoreStatus,
    Terminal,
    User,
)
from redcard.redemption import codes

ADMIN_URL = os.environ.get("REDCARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "redcard_bench"
DB_NAME_CPU = "redcard_bench_cpu"  # --cpu-only
SECRET_KEY = "bench-secret"
STORES = 32
TARGET_RATIO = 0.25
TARGET_P99_MS = 50.0
ROOT = Path(__file__).resolve().parent.parent


def db_url(name: str) -> str:
    parts = urlsplit(ADMIN_URL)
    return f"{parts.scheme}://{parts.netloc}/{name}"


def terminal_key(t: int) -> str:
    return f"bench-key-{t}"


def fresh_database(name: str) -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = db_url(name)
    upgrade(url)
    return url


async def seed(url: str, members: int) -> list[tuple[int, str]]:
    """Synthetic stores, terminals and members with active cards; returns (handle, secret)."""
    db = Database(url)
    now = utc_now()
    pw = "$argon2id$v=19$m=65536,t=3,p=4$synthetic$synthetic"  # nobody logs in
    out: list[tuple[int, str]] = []
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
        owners, merchants, stores, terminals = [], [], [], []
        for t in range(1, STORES + 1):
            owner, merchant, store = new_id(), new_id(), new_id()
            owners.append(
                {
                    "id": owner,
                    "role": Role.merchant_staff,
                    "phone": f"171{t:08d}",
                    "display_name": f"bench owner {t}",
                    "password_hash": pw,
                    "created_at": now,
                }
            )
            merchants.append(
                {
                    "id": merchant,
                    "name": f"bench merchant {t}",
                    "contact_name": "bench",
                    "contact_phone": f"171{t:08d}",
                    "owner_id": owner,
                    "status": MerchantStatus.approved,
                    "commission_bp": 0,
                    "payment_fee_bp": 60,
                    "fee_threshold_fen": 100_000_000,
                    "fee_above_bp": 60,
                    "created_at": now,
                }
            )
            stores.append(
                {
                    "id": store,
                    "merchant_id": merchant,
                    "name": f"bench store {t}",
                    "category": "food",
                    "lat": 31.2 + t / 1000,
                    "lng": 121.4 + t / 1000,
                    "status": StoreStatus.live,
                    "discount_bp": 1000,
                    "min_bill_fen": 0,
                    "exclusive_to_members": False,
                    "pay_code": secrets.token_urlsafe(12),
                    "source": "synthetic",
                    "created_at": now,
                }
            )
            terminals.append(
                {
                    "id": new_id(),
                    "store_id": store,
                    "name": f"bench till {t}",
                    "api_key_hash": hashlib.sha256(terminal_key(t).encode()).hexdigest(),
                    "created_at": now,
                }
            )
        await session.execute(insert(User), owners)
        await session.execute(insert(Merchant), merchants)
        await session.execute(insert(Store), stores)
        await session.execute(insert(Terminal), terminals)
        for start in range(1, members + 1, 2000):
            users, cards, secrets_ = [], [], []
            for i in range(start, min(start + 2000, members + 1)):
                uid, secret = new_id(), codes.new_secret()
                users.append(
                    {
                        "id": uid,
                        "role": Role.member,
                        "phone": f"172{i:08d}",
                        "display_name": f"会员{i}",
                        "password_hash": pw,
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
                secrets_.append(
                    {"member_id": uid, "handle": i, "secret": secret, "created_at": now}
                )
                out.append((i, secret))
            await session.execute(insert(User), users)
            await session.execute(insert(Membership), cards)
            await session.execute(insert(MemberCode), secrets_)
    await db.dispose()
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "REDCARD_DATABASE_URL": url,
        "REDCARD_BASE_URL": f"http://127.0.0.1:{port}",
        "REDCARD_SECRET_KEY": SECRET_KEY,
        "REDCARD_DB_POOL_SIZE": str(max(4, 40 // workers)),
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "redcard.app:serve_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the app did not start")


class Conn:
    """A minimal keep-alive HTTP/1.1 client: enough for JSON POSTs to our own server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw.split(b" ", 2)[1])
        match = re.search(rb"(?i)content-length: *(\d+)", raw)
        data = await self.reader.readexactly(int(match.group(1))) if match else b""
        return status, data


async def drive(
    port: int, clients: int, seconds: float, members: list[tuple[int, str]]
) -> dict[str, object]:
    key = codes.code_key(SECRET_KEY)
    pool = iter(members)
    pair_ms: list[float] = []
    request_ms: list[float] = []
    errors: dict[str, int] = {}
    stop_at = time.perf_counter() + seconds

    async def client(n: int) -> None:
        conn = Conn(port)
        headers = {
            "Content-Type": "application/json",
            "X-Terminal-Key": terminal_key(n % STORES + 1),
        }
        while time.perf_counter() < stop_at:
            try:
                handle, secret = next(pool)
            except StopIteration:
                return
            step = codes.step_at(time.time())
            code = codes.member_code(handle, secret, key, step)
            body = json.dumps({"code": code, "bill_fen": 12800}).encode()
            t0 = time.perf_counter()
            status, data = await conn.post("/api/v1/redemptions/prepare", headers, body)
            t1 = time.perf_counter()
            if status != 201:
                errors[f"prepare {status}"] = errors.get(f"prepare {status}", 0) + 1
                continue
            rid = json.loads(data)["id"]
            commit_headers = headers | {"Idempotency-Key": uuid.uuid4().hex}
            status, _ = await conn.post(f"/api/v1/redemptions/{rid}/commit", commit_headers, b"")
            t2 = time.perf_counter()
            if status != 200:
                errors[f"commit {status}"] = errors.get(f"commit {status}", 0) + 1
                continue
            pair_ms.append((t2 - t0) * 1000)
            request_ms.extend([(t1 - t0) * 1000, (t2 - t1) * 1000])

    started = time.perf_counter()
    await asyncio.gather(*[client(n) for n in range(clients)])
    elapsed = time.perf_counter() - started
    return {
        "committed": len(pair_ms),
        "seconds": elapsed,
        "rate": len(pair_ms) / elapsed,
        "pair_ms": pair_ms,
        "request_ms": request_ms,
        "errors": errors,
    }


async def _asgi_call(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    """One request straight into the ASGI app (what uvicorn would hand it)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return int(out["status"]), bytes(out["body"])


async def cpu_per_pair(
    url: str, members: list[tuple[int, str]], pairs: int, profile: str | None = None
) -> dict[str, float]:
    """CPU milliseconds this process spends per prepare + commit through the app, sequential:
    the mean, and the median and 10th percentile of the pairs (on a busy VM, time the vCPU
    is taken away from us can count as ours, in bursts; the median hardly sees those).
    With `profile`, the measured pairs run under cProfile (timer: process_time) and the stats
    go to that file, the figures then include the profiler's overhead, and `calls` is the
    number of Python function calls per pair."""
    os.environ.update(
        {"REDCARD_DATABASE_URL": url, "REDCARD_SECRET_KEY": SECRET_KEY, "REDCARD_BASE_URL": "x"}
    )
    from redcard.app import create_app
    from redcard.config import Settings

    app = create_app(Settings())
    key = codes.code_key(SECRET_KEY)
    headers = {"Content-Type": "application/json", "X-Terminal-Key": terminal_key(1)}

    async def one(handle: int, secret: str) -> None:
        code = codes.member_code(handle, secret, key, codes.step_at(time.time()))
        body = json.dumps({"code": code, "bill_fen": 12800}).encode()
        status, data = await _asgi_call(app, "POST", "/api/v1/redemptions/prepare", headers, body)
        assert status == 201, data
        rid = json.loads(data)["id"]
        commit = headers | {"Idempotency-Key": uuid.uuid4().hex}
        status, data = await _asgi_call(
            app, "POST", f"/api/v1/redemptions/{rid}/commit", commit, b""
        )
        assert status == 200, data

    async with app.router.lifespan_context(app):
        for handle, secret in members[:30]:  # warm-up: connections, prepared statements
            await one(handle, secret)
        profiler = cProfile.Profile(time.process_time) if profile else None
        each: list[float] = []
        if profiler is not None:
            profiler.enable()
        started = time.process_time()
        for handle, secret in members[30 : 30 + pairs]:
            before = time.process_time()
            await one(handle, secret)
            each.append((time.process_time() - before) * 1000)
        spent = time.process_time() - started
        out = {"mean": spent * 1000 / pairs, "median": pct(each, 50), "p10": pct(each, 10)}
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
            # Python calls per pair: a count, so it does not move with the machine's load
            out["calls"] = pstats.Stats(profiler).total_calls / pairs  # type: ignore[attr-defined]
        return out


PGBENCH_SCRIPT = Path(__file__).with_name("redemption_pgbench.sql")


def run_pgbench(clients: int, seconds: int, members: int) -> dict[str, float]:
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise RuntimeError("pgbench is not installed")
    parts = urlsplit(db_url(DB_NAME))
    script = str(PGBENCH_SCRIPT)
    cmd = [
        pgbench,
        "-n",
        "-M",
        "prepared",
        "-c",
        str(clients),
        "-j",
        "2",
        "-T",
        str(seconds),
        "-D",
        f"members={members}",
        "-f",
        script,
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        DB_NAME,
    ]
    # -l: one log line per script run (prepare + commit), its latency in µs in the third field
    with tempfile.TemporaryDirectory() as logs:
        cmd[1:1] = ["-l", "--log-prefix", str(Path(logs) / "tx")]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        pair_ms = [
            int(line.split()[2]) / 1000
            for log in Path(logs).iterdir()
            for line in log.read_text().splitlines()
        ]
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed: {done.stderr[-2000:]}")
    tps = re.search(r"tps = ([\d.]+)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    assert tps is not None, done.stdout
    return {
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else 0.0,
        "failed": float(failed.group(1)) if failed else 0.0,
        "p50_ms_pair": pct(pair_ms, 50),
        "p99_ms_pair": pct(pair_ms, 99),
    }


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--cpu-pairs", type=int, default=300)
    parser.add_argument(
        "--cpu-only",
        action="store_true",
        help="only seed and measure the app's CPU per pair (no HTTP run, no pgbench); "
        f"uses the database {DB_NAME_CPU} so a full run elsewhere is not disturbed",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="with the CPU part: cProfile stats of the pairs to FILE"
    )
    args = parser.parse_args()

    url = fresh_database(DB_NAME_CPU if args.cpu_only else DB_NAME)
    t0 = time.perf_counter()
    members = asyncio.run(seed(url, args.members))
    print(
        f"seeded {len(members)} synthetic members, {STORES} stores "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    cpu = asyncio.run(cpu_per_pair(url, members[-3000:], args.cpu_pairs, args.profile))
    cpu_ms = cpu["mean"]
    print(
        f"app CPU per prepare + commit, in process, sequential: {cpu_ms:.2f} ms "
        f"(median {cpu['median']:.2f} ms, p10 {cpu['p10']:.2f} ms)"
    )
    if args.cpu_only:
        figures = {
            "app_cpu_ms_per_pair_in_process": round(cpu_ms, 2),
            "app_cpu_ms_per_pair_median": round(cpu["median"], 2),
            "app_cpu_ms_per_pair_p10": round(cpu["p10"], 2),
            "cpu_pairs": args.cpu_pairs,
            "members": args.members,
            "profiled": bool(args.profile),
        }
        if "calls" in cpu:
            figures["python_calls_per_pair"] = round(cpu["calls"])
        print(json.dumps({"bench": "redemption-cpu", "figures": figures}, ensure_ascii=False))
        return
    port = free_port()
    server = start_server(url, port, args.workers)
    try:
        # warm-up: connections, prepared statements, imports (not measured)
        asyncio.run(drive(port, args.clients, 2.0, members[-5000:-3000]))
        app = asyncio.run(drive(port, args.clients, args.seconds, members[:-5000]))
    finally:
        server.terminate()
        server.wait(timeout=20)
    bench = run_pgbench(args.clients, int(args.seconds), args.members)
    ratio = app["rate"] / bench["tps"] if bench["tps"] else 0.0  # type: ignore[operator]
    pair: list[float] = app["pair_ms"]  # type: ignore[assignment]
    req: list[float] = app["request_ms"]  # type: ignore[assignment]
    figures = {
        "app_redemptions_per_s": round(app["rate"], 1),  # type: ignore[call-overload]
        "pgbench_redemptions_per_s": round(bench["tps"], 1),
        "ratio": round(ratio, 3),
        "p50_ms_request": round(pct(req, 50), 2),
        "p99_ms_request": round(pct(req, 99), 2),
        "p50_ms_prepare_plus_commit": round(pct(pair, 50), 2),
        "p99_ms_prepare_plus_commit": round(pct(pair, 99), 2),
        "mean_ms_request": round(statistics.fmean(req), 2) if req else None,
        "pgbench_latency_avg_ms": bench["latency_avg_ms"],
        "pgbench_p50_ms_prepare_plus_commit": round(bench["p50_ms_pair"], 2),
        "pgbench_p99_ms_prepare_plus_commit": round(bench["p99_ms_pair"], 2),
        "app_cpu_ms_per_pair_in_process": round(cpu_ms, 2),
        "app_cpu_ms_per_pair_median": round(cpu["median"], 2),
        "committed": app["committed"],
        "errors": app["errors"],
        "clients": args.clients,
        "uvicorn_workers": args.workers,
        "seconds": args.seconds,
    }
    targets = {"ratio_min": TARGET_RATIO, "p99_ms_request_max": TARGET_P99_MS}
    met = {
        "ratio": ratio >= TARGET_RATIO,
        "p99_request": pct(req, 99) < TARGET_P99_MS,
    }
    print(
        f"app:     {figures['app_redemptions_per_s']} committed redemptions/s "
        f"({args.clients} clients, {args.workers} uvicorn workers, {app['committed']} in "
        f"{app['seconds']:.1f} s, errors {app['errors']})"
    )
    print(
        f"pgbench: {figures['pgbench_redemptions_per_s']} redemptions/s (same SQL, 2 tx each); "
        f"prepare+commit p50 {figures['pgbench_p50_ms_prepare_plus_commit']} ms, p99 "
        f"{figures['pgbench_p99_ms_prepare_plus_commit']} ms, with no application in the way"
    )
    print(f"ratio:   {figures['ratio']}  (target >= {TARGET_RATIO})")
    print(
        f"latency per request p50 {figures['p50_ms_request']} ms, p99 "
        f"{figures['p99_ms_request']} ms (target p99 < {TARGET_P99_MS} ms); prepare+commit "
        f"p50 {figures['p50_ms_prepare_plus_commit']} ms, p99 "
        f"{figures['p99_ms_prepare_plus_commit']} ms"
    )
    print(
        json.dumps(
            {
                "bench": "redemption",
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
