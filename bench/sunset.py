"""Benchmark: a program sunset over N (default 1,000,000) paid memberships on PostgreSQL.

1. Creates a fresh database (redcard_bench_sunset), migrates it, and generates N members with
   paid orders, succeeded payments, their ledger postings, active cards and the sandbox's
   trades, all with INSERT ... SELECT generate_series (synthetic data).
2. Times the dry run an operator sees (not part of the campaign's time), then prepares and
   approves the sunset (two operators) with the cut-off now: approval writes one campaign
   item, one reserved refund (due at the cut-off) and one notice per card (INSERT ... SELECT
   under the full policy).
3. Runs the campaign to completion through the one refund path with --workers worker
   processes side by side (default 2, one per core; each claim is FOR UPDATE SKIP LOCKED): the
   sunset worker step (the cards suspended at the cut-off, a chunk at a time) and
   payments/refunds.process_due (--batch refunds per claim; refund_many to the in-process
   sandbox, then its status query). The sandbox's callbacks are dropped (as if lost): every
   refund is settled by a status query. The poll delay is set to 0.
4. Streams the channel's bill through the port into a CSV file, batch by batch, and
   reconciles it.
5. Times a plain COPY of N refund-shaped rows into an unlogged copy of the refunds table.

Targets: the whole campaign (approve → all refunded → reconciled) under 180 s; peak RSS
reported (the aim is flat memory: every step works in batches).
Usage: .venv/bin/python bench/sunset.py [--n 1000000] [--batch 10000] [--workers 2] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import tempfile
import time
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import event, func, select, text

from redcard.accounts.service import create_user
from redcard.config import Settings
from redcard.db import Database
from redcard.kit.ids import new_id
from redcard.kit.time import today as clock_today
from redcard.kit.time import utc_now
from redcard.ledger.service import check
from redcard.membership import service as membership
from redcard.membership.schemas import PlanCreate
from redcard.migrate import upgrade
from redcard.models import PlanKind, Refund, RefundPolicy, RefundStatus, Role, SunsetCampaign
from redcard.order_kinds import register_all
from redcard.payments import refunds
from redcard.payments.channels import Channels
from redcard.payments.refunds import due as refund_worker
from redcard.payments.sandbox import SandboxChannel
from redcard.sunset import dryrun, service, tasks
from redcard.sunset import reconcile as rec

ADMIN_URL = os.environ.get("REDCARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "redcard_bench_sunset"
TARGET_SECONDS = 180


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    parts = urlsplit(ADMIN_URL)
    return f"{parts.scheme}://{parts.netloc}/{DB_NAME}"


SERVER_SETTINGS = ("shared_buffers", "max_wal_size", "wal_compression", "synchronous_commit")


def server_state() -> dict[str, Any]:
    """The PostgreSQL settings that move these figures most, and the checkpoints so far: a
    checkpoint forced by WAL volume (`checkpoints_req`) makes the next change of every page
    write the whole page to the WAL again."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        settings = dict(
            conn.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
                [list(SERVER_SETTINGS)],
            ).fetchall()
        )
        row = conn.execute("SELECT checkpoints_req FROM pg_stat_bgwriter").fetchone()
    return {"settings": settings, "checkpoints_req": int(row[0]) if row else 0}


GENERATE = """
CREATE TEMP TABLE gen AS
SELECT i, gen_random_uuid() AS user_id, gen_random_uuid() AS order_id,
       gen_random_uuid() AS payment_id, gen_random_uuid() AS card_id,
       'PB' || lpad(i::text, 12, '0') AS out_trade_no
FROM generate_series(1, :n) AS i;
INSERT INTO users (id, created_at, role, phone, display_name, password_hash)
  SELECT user_id, now(), 'member', '16' || lpad(i::text, 9, '0'), 'bench', '-' FROM gen;
INSERT INTO orders (id, created_at, member_id, kind, plan_id, terms_version_id, amount_fen,
                    currency, status, converts_trial, paid_at)
  SELECT order_id, now(), user_id, 'membership', :plan, :terms, :price, 'CNY', 'paid', false,
         now() FROM gen;
INSERT INTO payments (id, created_at, order_id, channel, out_trade_no, amount_fen, status,
                      channel_trade_no, succeeded_at, refunded_fen)
  SELECT payment_id, now(), order_id, :channel, out_trade_no, :price, 'succeeded',
         'T' || out_trade_no, now(), 0 FROM gen;
INSERT INTO memberships (id, created_at, member_id, plan_id, order_id, kind, status, starts_at,
                         ends_at, auto_renew)
  SELECT card_id, now(), user_id, :plan, order_id, 'paid', 'active', now(),
         now() + interval '365 days', false FROM gen;
INSERT INTO sandbox_trades (out_trade_no, trade_no, amount_fen, subject, notify_url, status,
                            created_at, paid_at)
  SELECT out_trade_no, 'T' || out_trade_no, :price, 'bench', 'http://127.0.0.1/notify',
         'succeeded', now(), now() FROM gen;
CREATE TEMP TABLE gen_entries AS SELECT gen_random_uuid() AS entry_id, out_trade_no FROM gen;
INSERT INTO journal_entries (id, kind, ref, memo, posted_at)
  SELECT entry_id, 'payment', out_trade_no, NULL, now() FROM gen_entries;
INSERT INTO ledger_accounts (id, code, owner_key, balance_fen) VALUES
  (gen_random_uuid(), 'channel_clearing', '', CAST(:total AS bigint)),
  (gen_random_uuid(), 'deferred_membership_revenue', '', -CAST(:total AS bigint));
INSERT INTO journal_lines (id, entry_id, account_id, amount_fen)
  SELECT gen_random_uuid(), e.entry_id, a.id,
         CASE WHEN a.code = 'channel_clearing' THEN CAST(:price AS bigint)
              ELSE -CAST(:price AS bigint) END
  FROM gen_entries e CROSS JOIN ledger_accounts a
  WHERE a.code IN ('channel_clearing', 'deferred_membership_revenue');
ANALYZE;
"""


async def generate(db: Database, sandbox: SandboxChannel, n: int) -> tuple[object, object]:
    await sandbox.ensure_ready()
    async with db.session_scope() as session:
        await membership.publish_terms(session, membership.MEMBERSHIP_TERMS, "会员协议", "条款")
        plan = await membership.create_plan(
            session,
            PlanCreate(
                code="annual",
                name="年卡",
                kind=PlanKind.paid,
                price_fen=16800,
                duration_days=365,
                refund_policy=RefundPolicy.full,
            ),
        )
        a = await create_user(
            session,
            phone="13800000000",
            password="bench-pass-1",
            display_name="甲",
            role=Role.operator,
        )
        b = await create_user(
            session,
            phone="13800000001",
            password="bench-pass-1",
            display_name="乙",
            role=Role.operator,
        )
        params = {
            "n": n,
            "plan": plan.id,
            "terms": plan.terms_version_id,
            "price": 16800,
            "channel": sandbox.name,
            "total": 16800 * n,
        }
        for statement in GENERATE.split(";"):
            if statement.strip():
                await session.execute(text(statement), params)
    return a, b


async def copy_baseline(db: Database, n: int) -> float:
    """A plain COPY of n refund-shaped rows (same columns) into an unlogged twin of refunds."""
    async with db.engine.connect() as conn:
        await conn.execute(text("CREATE UNLOGGED TABLE copy_refunds (LIKE refunds)"))
        await conn.commit()
        raw = await conn.get_raw_connection()
        now = utc_now()
        started = time.perf_counter()
        chunk = 20_000
        for start in range(0, n, chunk):
            rows = [
                (
                    new_id(),
                    now,
                    new_id(),
                    f"RC{i:014d}",
                    16800,
                    "sunset",
                    None,
                    "pending",
                    0,
                    now,
                    None,
                    None,
                    None,
                    None,
                )
                for i in range(start, min(n, start + chunk))
            ]
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "copy_refunds",
                records=rows,
                columns=[
                    "id",
                    "created_at",
                    "payment_id",
                    "out_refund_no",
                    "amount_fen",
                    "reason",
                    "campaign_id",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "last_error",
                    "channel_refund_no",
                    "offline_reference",
                    "succeeded_at",
                ],
            )
        return time.perf_counter() - started


def profile_statements(engine: Any) -> dict[str, list[float]]:
    """Wall time per SQL statement (first 70 characters), for --profile."""
    stats: dict[str, list[float]] = {}

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("t0", []).append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        took = time.perf_counter() - conn.info["t0"].pop()
        entry = stats.setdefault(" ".join(statement.split())[:70], [0, 0.0])
        entry[0] += 1
        entry[1] += took

    return stats


def sandbox_for(url: str, settings: Settings) -> Channels:
    # its callbacks lost: refunds settle by status query only
    sandbox = SandboxChannel(
        database_url=url, secret="bench", base_url=settings.base_url, sends_notifications=False
    )
    return Channels({sandbox.name: sandbox}, default=sandbox.name)


async def work(
    db: Database, channels: Channels, settings: Settings, batch: int, passes: list[int], t: float
) -> None:
    """One worker, as `redcard worker` runs it: the sunset step, then the refunds step, until
    the campaign completes. Several run side by side (each claim is FOR UPDATE SKIP LOCKED)."""
    while True:
        passes[0] += 1
        async with db.session_scope() as session:
            did = await tasks.run_campaign(session)
        async with db.session_scope() as session:
            did += await refunds.process_due(session, channels, settings.base_url, batch)
        if passes[0] % 50 == 0:
            print(f"  pass {passes[0]}: {time.perf_counter() - t:.0f} s, rss {rss_mb():.0f} MB")
        if not did:
            async with db.session_scope() as session:
                running = await session.scalar(
                    select(func.count()).where(SunsetCampaign.status == "approved")
                )
            if not running:
                return
            await asyncio.sleep(0.05)  # another worker holds the rest: wait for its commit


def worker_process(url: str, batch: int) -> None:
    """A worker in a process of its own (so the workers use every core, as separate
    `redcard worker` processes do)."""

    async def main() -> None:
        settings = Settings(database_url=url, base_url="http://127.0.0.1:1")
        db = Database(url, pool_size=2)
        channels = sandbox_for(url, settings)
        refund_worker.POLL_AFTER = timedelta(0)
        register_all()
        try:
            await work(db, channels, settings, batch, [0], time.perf_counter())
        finally:
            await channels.close()
            await db.dispose()

    asyncio.run(main())


async def run(
    url: str, n: int, batch: int, workers: int, profile: bool = False
) -> dict[str, object]:
    settings = Settings(database_url=url, base_url="http://127.0.0.1:1")
    db = Database(url, pool_size=4)
    stats = profile_statements(db.engine) if profile else None
    channels = sandbox_for(url, settings)
    sandbox = cast(SandboxChannel, channels.default)
    refund_worker.POLL_AFTER = timedelta(0)
    register_all()
    figures: dict[str, object] = {"n": n, "batch": batch, "workers": workers}

    t = time.perf_counter()
    preparer, approver = await generate(db, sandbox, n)
    figures["generate_s"] = round(time.perf_counter() - t, 1)
    print(f"generated {n} paid memberships in {figures['generate_s']} s")

    # the dry run the operator waits for on the page (not part of the campaign's time)
    t = time.perf_counter()
    async with db.session_scope() as session:
        preview = await dryrun.dry_run(session, RefundPolicy.full, utc_now())
    figures["dry_run_s"] = round(time.perf_counter() - t, 1)
    print(f"dry run: {preview.count} cards, {preview.total_fen} fen in {figures['dry_run_s']} s")

    before = server_state()
    started = time.perf_counter()
    async with db.session_scope() as session:
        campaign = await service.prepare(
            session,
            preparer,
            cutoff_at=utc_now(),
            notice="停止服务，全额退款",  # type: ignore[arg-type]
        )
    async with db.session_scope() as session:
        approved = await service.approve(session, campaign.id, approver)  # type: ignore[arg-type]
        expected_fen = approved.total_fen
    figures["approve_s"] = round(time.perf_counter() - started, 1)
    print(f"approved: {approved.items_count} items, {expected_fen} fen in {figures['approve_s']} s")

    t = time.perf_counter()
    if profile:  # one process, so the statement timings are all in this one
        cpu = time.process_time()
        await work(db, channels, settings, batch, [0], t)
        figures["worker_cpu_us_per_refund"] = round((time.process_time() - cpu) / n * 1e6)
        cpu_us = figures["worker_cpu_us_per_refund"]
        print(f"worker CPU (Python, sandbox included): {cpu_us} µs per refund")
    else:
        spawn = multiprocessing.get_context("spawn")
        procs = [spawn.Process(target=worker_process, args=(url, batch)) for _ in range(workers)]
        for proc in procs:
            proc.start()
        await asyncio.to_thread(lambda: [proc.join() for proc in procs])
        if any(proc.exitcode for proc in procs):
            raise SystemExit(f"a worker failed: {[proc.exitcode for proc in procs]}")
    figures["refund_s"] = round(time.perf_counter() - t, 1)
    print(f"campaign refunded in {figures['refund_s']} s")
    if stats is not None:
        for statement, (count, took) in sorted(stats.items(), key=lambda kv: -kv[1][1])[:25]:
            print(f"  {took:7.2f} s {count:6d}x  {statement}")
        stats.clear()

    t = time.perf_counter()
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as bill_file:
        # the bill streams from the channel to a file and from the file into the database
        await rec.write_bill_csv(channels.default, clock_today(), bill_file, kinds=["refund"])
        bill_file.seek(0)
        async with db.session_scope() as session:
            report = await rec.reconcile_csv(session, [bill_file], campaign_id=campaign.id)
    figures["reconcile_s"] = round(time.perf_counter() - t, 1)
    total_s = time.perf_counter() - started
    figures["total_s"] = round(total_s, 1)
    after = server_state()
    figures["server"] = after["settings"]
    figures["forced_checkpoints"] = after["checkpoints_req"] - before["checkpoints_req"]
    print(f"reconciled {report.bill_lines} lines in {figures['reconcile_s']} s: {report.counts}")
    print(
        f"checkpoints forced by WAL volume during the campaign: {figures['forced_checkpoints']} "
        f"(server: {figures['server']})"
    )

    async with db.session_scope() as session:
        done = await session.get_one(SunsetCampaign, campaign.id)
        refunded = await session.scalar(
            select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
                Refund.status == RefundStatus.succeeded
            )
        )
        t = time.perf_counter()
        ledger_ok = (await check(session)).ok  # every entry, balance and the refunds subledger
        figures["ledger_check_s"] = round(time.perf_counter() - t, 1)
    # the high-water mark of the campaign (this process and the largest worker), before the
    # COPY baseline
    campaign_rss = max(rss_mb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    copy_s = await copy_baseline(db, n)
    await channels.close()
    await db.dispose()

    rate = n / figures["refund_s"] if figures["refund_s"] else 0.0  # type: ignore[operator]
    copy_rate = n / copy_s
    figures.update(
        {
            "campaign_status": done.status.value,
            "refunded_fen": int(refunded or 0),
            "expected_fen": expected_fen,
            "unexplained": report.unexplained,
            "ledger_ok": ledger_ok,
            "refunds_per_s": round(rate),
            "copy_s": round(copy_s, 2),
            "copy_rows_per_s": round(copy_rate),
            "copy_to_campaign_ratio": round(copy_rate / rate, 1) if rate else None,
            "campaign_per_s": round(n / total_s),
            "campaign_peak_rss_mb": round(campaign_rss),
            "peak_rss_mb": round(rss_mb()),
        }
    )
    print(
        f"refunds {rate:,.0f}/s; plain COPY of the same rows {copy_rate:,.0f}/s "
        f"(COPY is {figures['copy_to_campaign_ratio']}x faster); total {total_s:.1f} s "
        f"(target < {TARGET_SECONDS} s); peak RSS {figures['campaign_peak_rss_mb']} MB "
        f"(campaign), {figures['peak_rss_mb']} MB (with the COPY baseline)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes side by side")
    parser.add_argument(
        "--profile", action="store_true", help="time each SQL statement (one worker, in process)"
    )
    args = parser.parse_args()
    url = fresh_database()
    upgrade(url)
    figures = asyncio.run(run(url, args.n, args.batch, args.workers, args.profile))
    ok = (
        figures["campaign_status"] == "completed"
        and figures["refunded_fen"] == figures["expected_fen"]
        and figures["unexplained"] == 0
        and figures["ledger_ok"] is True
    )
    print(
        json.dumps(
            {
                "bench": "sunset",
                "figures": figures,
                "targets": {"total_s_max": TARGET_SECONDS, "unexplained": 0, "memory": "flat"},
                "correct": ok,
                # the target is for 1,000,000 cards: a smaller run never "meets" it
                "met": bool(
                    ok and args.n >= 1_000_000 and figures["total_s"] < TARGET_SECONDS  # type: ignore[operator]
                ),
                "cpu_count": os.cpu_count(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
