"""Benchmark: daily settlement of 持卡买单 bills on PostgreSQL.

1. Creates a fresh database (redcard_bench_settlement), migrates it, and seeds one business
   day of synthetic paid bills (source='synthetic' stores): orders, payments, committed
   redemptions and their ledger entries (payment + savings memo), spread over merchants.
2. Times `settlement.service.settle_day` for that day (one unit of work, as the worker runs it),
   then times recomputing every statement from the ledger (`ledger_figures`) and checks the two
   agree and the ledger balances.
3. The last printed line is one JSON object with figures, targets and the core count.

Target: at least 2,000 bills settled per second (a 20,000-bill day in under 10 s).
Usage: .venv/bin/python bench/settlement.py [--bills 20000] [--merchants 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import time
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import psycopg
from sqlalchemy import insert

from redcard.db import Database
from redcard.kit import time as clock
from redcard.kit.ids import new_id, reference
from redcard.ledger import service as ledger
from redcard.ledger.accounts import Account
from redcard.membership import service as membership
from redcard.membership.schemas import PlanCreate
from redcard.migrate import upgrade
from redcard.models import (
    Merchant,
    MerchantStatus,
    Order,
    OrderKind,
    OrderStatus,
    Payment,
    PaymentStatus,
    PlanKind,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    Role,
    Store,
    StoreStatus,
    User,
)
from redcard.settlement import service as settlement

ADMIN_URL = os.environ.get("REDCARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "redcard_bench_settlement"
DAY = date(2026, 11, 20)
TARGET_BILLS_PER_S = 2000
CHUNK = 2000


def fresh_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    parts = urlsplit(ADMIN_URL)
    url = f"{parts.scheme}://{parts.netloc}/{DB_NAME}"
    upgrade(url)
    return url


async def seed(db: Database, bills: int, merchants: int) -> None:
    rng = random.Random(DAY.toordinal())
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=clock.zone())
    async with db.session_scope() as session:
        await membership.publish_terms(session, membership.MEMBERSHIP_TERMS, "协议", "正文")
        trial = await membership.create_plan(
            session,
            PlanCreate(
                code="trial90", name="体验卡", kind=PlanKind.trial, price_fen=0, duration_days=90
            ),
        )
        member = User(role=Role.member, phone="13900000001", display_name="食客", password_hash="x")
        session.add(member)
        await session.flush()
        with clock.frozen(start - timedelta(days=1)):
            card = await membership.start_trial(session, member, trial.id)
        shops: list[tuple[Merchant, Store]] = []
        for i in range(merchants):
            owner = User(
                role=Role.merchant_staff,
                phone=f"1370{i:07d}",
                display_name="店主",
                password_hash="x",
            )
            session.add(owner)
            await session.flush()
            merchant = Merchant(
                name=f"商户{i}",
                contact_name="店主",
                contact_phone=owner.phone,
                owner_id=owner.id,
                status=MerchantStatus.approved,
            )
            session.add(merchant)
            await session.flush()
            store = Store(
                merchant_id=merchant.id,
                name=f"门店{i}",
                category="food",
                lat=31.2,
                lng=121.4,
                status=StoreStatus.live,
                discount_bp=1000 + (i % 5) * 100,
                pay_code=secrets.token_urlsafe(12),
                source="synthetic",
            )
            session.add(store)
            shops.append((merchant, store))
        await session.flush()
        member_id, card_id = member.id, card.id
    for offset in range(0, bills, CHUNK):
        orders, payments, redemptions, entries = [], [], [], []
        for _ in range(min(CHUNK, bills - offset)):
            merchant, store = rng.choice(shops)
            bill = rng.randint(100, 80_000)
            discount = store.discount_for(bill)
            charged = bill - discount
            at = start + timedelta(seconds=rng.randint(0, 86_399))
            order_id, ref = new_id(), reference("P")
            orders.append(
                {
                    "id": order_id,
                    "member_id": member_id,
                    "kind": OrderKind.store_bill,
                    "amount_fen": charged,
                    "currency": "CNY",
                    "status": OrderStatus.paid,
                    "converts_trial": False,
                    "paid_at": at,
                    "created_at": at,
                }
            )
            payments.append(
                {
                    "id": new_id(),
                    "order_id": order_id,
                    "channel": "bench",
                    "out_trade_no": ref,
                    "amount_fen": charged,
                    "status": PaymentStatus.succeeded,
                    "succeeded_at": at,
                    "refunded_fen": 0,
                    "created_at": at,
                }
            )
            redemption_id = new_id()
            redemptions.append(
                {
                    "id": redemption_id,
                    "kind": RedemptionKind.pay,
                    "status": RedemptionStatus.committed,
                    "store_id": store.id,
                    "merchant_id": merchant.id,
                    "member_id": member_id,
                    "membership_id": card_id,
                    "order_id": order_id,
                    "bill_fen": bill,
                    "discount_fen": discount,
                    "charged_fen": charged,
                    "prepared_at": at,
                    "committed_at": at,
                }
            )
            entries.append(
                ledger.Entry(
                    "payment",
                    ref,
                    [
                        ledger.Line(Account.channel_clearing, charged),
                        ledger.Line(Account.merchant_payable, -charged, str(merchant.id)),
                    ],
                )
            )
            if discount:
                entries.append(
                    ledger.Entry(
                        "redemption",
                        str(redemption_id),
                        [
                            ledger.Line(Account.member_savings, -discount, str(member_id)),
                            ledger.Line(
                                Account.merchant_discounts_funded, discount, str(merchant.id)
                            ),
                        ],
                    )
                )
        async with db.session_scope() as session:
            await session.execute(insert(Order), orders)
            await session.execute(insert(Payment), payments)
            await session.execute(insert(Redemption), redemptions)
            await ledger.post_many(session, entries)


async def run(url: str, bills: int, merchants: int) -> dict[str, object]:
    db = Database(url)
    try:
        t0 = time.perf_counter()
        await seed(db, bills, merchants)
        seeded_s = time.perf_counter() - t0
        print(f"seeded {bills} paid bills over {merchants} merchants in {seeded_s:.1f} s")
        t0 = time.perf_counter()
        async with db.session_scope() as session:
            statements = await settlement.settle_day(session, DAY)
        settle_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        mismatches = 0
        async with db.session_scope() as session:
            for statement in statements:
                figures = await settlement.ledger_figures(session, statement)
                if (figures.charged_fen, figures.discount_fen, figures.fees_fen) != (
                    statement.charged_fen,
                    statement.discount_fen,
                    statement.fee_fen + statement.commission_fen,
                ):
                    mismatches += 1
            report = await ledger.check(session)
        verify_s = time.perf_counter() - t0
        settled = sum(s.bills_count for s in statements)
        return {
            "bills": bills,
            "merchants": merchants,
            "statements": len(statements),
            "bills_settled": settled,
            "settle_seconds": round(settle_s, 3),
            "bills_per_s": round(settled / settle_s, 1) if settle_s else None,
            "ledger_verify_seconds": round(verify_s, 3),
            "statement_ledger_mismatches": mismatches,
            "ledger_ok": report.ok,
        }
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bills", type=int, default=20_000)
    parser.add_argument("--merchants", type=int, default=50)
    args = parser.parse_args()
    url = fresh_database()
    figures = asyncio.run(run(url, args.bills, args.merchants))
    rate = float(figures["bills_per_s"] or 0)  # type: ignore[arg-type]
    met = {
        "bills_per_s": rate >= TARGET_BILLS_PER_S,
        "statements_equal_ledger": figures["statement_ledger_mismatches"] == 0
        and bool(figures["ledger_ok"]),
    }
    print(
        f"settled {figures['bills_settled']} bills into {figures['statements']} statements in "
        f"{figures['settle_seconds']} s: {figures['bills_per_s']} bills/s "
        f"(target >= {TARGET_BILLS_PER_S})"
    )
    print(
        f"recomputed every statement from the ledger in {figures['ledger_verify_seconds']} s: "
        f"{figures['statement_ledger_mismatches']} mismatches, ledger ok={figures['ledger_ok']}"
    )
    print(
        json.dumps(
            {
                "bench": "settlement",
                "figures": figures,
                "targets": {
                    "bills_per_s_min": TARGET_BILLS_PER_S,
                    "statement_ledger_mismatches": 0,
                },
                "met": met,
                "cpu_count": os.cpu_count(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
