"""Benchmark: auto-renewal of N (default 100,000) due cards on PostgreSQL.

1. Creates a fresh database (redcard_bench_renewal), migrates it, and generates N members, each
   with a paid annual card (order, succeeded payment, ledger posting, the sandbox's trade)
   ending in 5 days, auto-renew on and an active mandate (ours and the sandbox's), with
   INSERT ... SELECT generate_series (synthetic data).
2. Runs the renewal step's notices (one renewal row and one notice per card), then moves the
   clock to the cards' end and runs the charges, `--batch` renewals per claim, with
   `--workers` workers side by side in this process (each claim is FOR UPDATE SKIP LOCKED):
   each renewal is one charge against its mandate at the in-process sandbox, then the card
   purchase path (order, payment, ledger, the new card starting at the old end).
3. Checks: every renewal renewed, exactly one charge per period in our records and in the
   sandbox's own books, the ledger balanced.

Prints renewals per second, our SQL statements per card (a SQLAlchemy event listener on our
engine; the sandbox's own statements are counted apart) and channel calls per renewal (target
exactly 1). Last line: one JSON object with the figures, the targets and the core count.
Usage: .venv/bin/python bench/renewal.py [--cards 100000] [--batch 500] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import event, func, select, text

from redcard.config import Settings
from redcard.db import Database
from redcard.kit import time as clock
from redcard.ledger.service import check
from redcard.membership import renewal_tasks
from redcard.membership import service as membership
from redcard.membership.schemas import PlanCreate
from redcard.migrate import upgrade
from redcard.models import PlanKind, RefundPolicy, Renewal, RenewalStatus
from redcard.order_kinds import register_all
from redcard.payments.channels import Channels
from redcard.payments.port import ChargeRequest, TradeQuery
from redcard.payments.sandbox import SandboxChannel

ADMIN_URL = os.environ.get("REDCARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "redcard_bench_renewal"
TARGET_CHANNEL_CALLS = 1.0  # per renewal, exactly

GENERATE = """
CREATE TEMP TABLE gen AS
SELECT i, gen_random_uuid() AS user_id, gen_random_uuid() AS order_id,
       gen_random_uuid() AS payment_id, gen_random_uuid() AS card_id,
       gen_random_uuid() AS mandate_id,
       'PB' || lpad(i::text, 12, '0') AS out_trade_no,
       'MB' || lpad(i::text, 12, '0') AS mandate_no
FROM generate_series(1, :n) AS i;
INSERT INTO users (id, created_at, role, phone, display_name, password_hash)
  SELECT user_id, :bought, 'member', '16' || lpad(i::text, 9, '0'), 'bench', '-' FROM gen;
INSERT INTO orders (id, created_at, member_id, kind, plan_id, terms_version_id, amount_fen,
                    currency, status, converts_trial, paid_at)
  SELECT order_id, :bought, user_id, 'membership', :plan, :terms, :price, 'CNY', 'paid', false,
         :bought FROM gen;
INSERT INTO payments (id, created_at, order_id, channel, out_trade_no, amount_fen, status,
                      channel_trade_no, succeeded_at, refunded_fen)
  SELECT payment_id, :bought, order_id, 'sandbox', out_trade_no, :price, 'succeeded',
         'T' || out_trade_no, :bought, 0 FROM gen;
INSERT INTO memberships (id, created_at, member_id, plan_id, order_id, kind, status, starts_at,
                         ends_at, auto_renew)
  SELECT card_id, :bought, user_id, :plan, order_id, 'paid', 'active', :bought, :ends, true
  FROM gen;
INSERT INTO payment_mandates (id, created_at, member_id, channel, mandate_no, status,
                              channel_ref, sign_url, signed_at, revoked_at, revoke_pending)
  SELECT mandate_id, :bought, user_id, 'sandbox', mandate_no, 'active', 'A' || mandate_no, NULL,
         :bought, NULL, false FROM gen;
INSERT INTO sandbox_trades (out_trade_no, trade_no, amount_fen, subject, notify_url, status,
                            created_at, paid_at)
  SELECT out_trade_no, 'T' || out_trade_no, :price, 'bench', '', 'succeeded', :bought, :bought
  FROM gen;
INSERT INTO sandbox_mandates (mandate_no, agreement_no, subject, max_amount_fen, period_days,
                              status, created_at, signed_at, revoked_at)
  SELECT mandate_no, 'A' || mandate_no, 'bench', :price, 365, 'active', :bought, :bought, NULL
  FROM gen;
CREATE TEMP TABLE gen_entries AS SELECT gen_random_uuid() AS entry_id, out_trade_no FROM gen;
INSERT INTO journal_entries (id, kind, ref, memo, posted_at)
  SELECT entry_id, 'payment', out_trade_no, NULL, :bought FROM gen_entries;
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


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    parts = urlsplit(ADMIN_URL)
    return f"{parts.scheme}://{parts.netloc}/{DB_NAME}"


class CountingSandbox(SandboxChannel):
    """The sandbox, counting the calls the renewal step makes to it."""

    calls: dict[str, int]

    async def charge_mandate(self, request: ChargeRequest) -> TradeQuery:
        self.calls["charge_mandate"] = self.calls.get("charge_mandate", 0) + 1
        return await super().charge_mandate(request)

    async def query_payment(self, out_trade_no: str) -> TradeQuery:
        self.calls["query_payment"] = self.calls.get("query_payment", 0) + 1
        return await super().query_payment(out_trade_no)


def count_statements(engine: Any) -> list[int]:
    counter = [0]

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        counter[0] += 1

    return counter


async def generate(db: Database, sandbox: SandboxChannel, n: int) -> None:
    await sandbox.ensure_ready()
    now = clock.utc_now()
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
        params = {
            "n": n,
            "plan": plan.id,
            "terms": plan.terms_version_id,
            "price": 16800,
            "total": 16800 * n,
            "bought": now - timedelta(days=360),
            "ends": now + timedelta(days=5),
        }
        for statement in GENERATE.split(";"):
            if statement.strip():
                await session.execute(text(statement), params)


async def drain(db: Database, step: Any, workers: int, batch: int) -> int:
    """Run `step(session, batch)` in `workers` loops side by side until none finds work."""
    done = [0]

    async def loop() -> None:
        while True:
            async with db.session_scope() as session:
                did = await step(session, batch)
            done[0] += did
            if not did:
                return

    await asyncio.gather(*(loop() for _ in range(workers)))
    return done[0]


async def run(url: str, n: int, batch: int, workers: int) -> dict[str, Any]:
    register_all()
    settings = Settings(database_url=url, base_url="http://127.0.0.1:1")
    db = Database(url, pool_size=workers + 2)
    sandbox = CountingSandbox(
        database_url=url, secret="bench", base_url=settings.base_url, sends_notifications=False
    )
    sandbox.calls = {}
    channels = Channels({sandbox.name: sandbox}, default=sandbox.name)
    config = renewal_tasks.Config.of(settings)
    started = time.perf_counter()
    await generate(db, sandbox, n)
    print(f"generated {n} due cards in {time.perf_counter() - started:.1f} s")
    ours = count_statements(db.engine)
    theirs = count_statements(sandbox.engine)
    figures: dict[str, Any] = {"cards": n, "batch": batch, "workers": workers}
    try:
        t = time.perf_counter()
        noticed = await drain(
            db, lambda s, b: renewal_tasks.send_notices(s, config, b), workers, batch
        )
        notice_s = time.perf_counter() - t
        figures |= {
            "notices": noticed,
            "notices_per_s": round(noticed / notice_s, 1),
            "notice_queries_per_card": round(ours[0] / max(noticed, 1), 2),
        }
        print(f"notices: {noticed} in {notice_s:.1f} s ({figures['notices_per_s']}/s)")

        ours[0] = theirs[0] = 0
        async with db.session_scope() as session:
            due_at = await session.scalar(select(func.max(Renewal.due_at)))
        clock.freeze(due_at + timedelta(seconds=1))
        t = time.perf_counter()
        renewed = await drain(
            db, lambda s, b: renewal_tasks.charge_due(s, channels, config, b), workers, batch
        )
        charge_s = time.perf_counter() - t
        calls = sum(sandbox.calls.values())
        figures |= {
            "renewals": renewed,
            "charge_s": round(charge_s, 1),
            "renewals_per_s": round(renewed / charge_s, 1),
            "queries_per_card": round(ours[0] / max(renewed, 1), 2),
            "sandbox_statements_per_card": round(theirs[0] / max(renewed, 1), 2),
            "channel_calls_per_renewal": round(calls / max(renewed, 1), 4),
            "channel_calls": dict(sandbox.calls),
        }
        print(
            f"charges: {renewed} in {charge_s:.1f} s ({figures['renewals_per_s']} renewals/s), "
            f"{figures['queries_per_card']} queries per card, "
            f"{figures['channel_calls_per_renewal']} channel calls per renewal"
        )
        async with db.session_scope() as session:
            statuses = dict(
                (s.value, c)
                for s, c in await session.execute(
                    select(Renewal.status, func.count()).group_by(Renewal.status)
                )
            )
            report = await check(session)
        charges = await sandbox.charges_of()
        figures |= {
            "renewed": statuses.get(RenewalStatus.renewed.value, 0),
            "channel_charges": len(charges),
            "channel_charges_distinct_mandates": len({c[0] for c in charges}),
            "ledger_ok": report.ok,
        }
    finally:
        clock.unfreeze()
        await channels.close()
        await db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="workers side by side")
    args = parser.parse_args()
    url = fresh_database()
    upgrade(url)
    figures = asyncio.run(run(url, args.cards, args.batch, args.workers))
    n = args.cards
    correct = (
        figures["renewed"] == n
        and figures["channel_charges"] == n
        and figures["channel_charges_distinct_mandates"] == n
        and figures["ledger_ok"] is True
    )
    print(
        json.dumps(
            {
                "bench": "renewal",
                "figures": figures,
                "targets": {
                    "channel_calls_per_renewal": TARGET_CHANNEL_CALLS,
                    "charges_per_period": 1,
                },
                "correct": correct,
                "met": bool(
                    correct and figures["channel_calls_per_renewal"] == TARGET_CHANNEL_CALLS
                ),
                "cpu_count": os.cpu_count(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
