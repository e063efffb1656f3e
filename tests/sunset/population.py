"""Many paying members at once, written in bulk (for the crash test): users, paid orders,
succeeded payments with their ledger postings, active cards, and the channel's trades."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from redcard.db import Database
from redcard.kit.ids import new_id
from redcard.kit.time import utc_now
from redcard.ledger import service as ledger
from redcard.ledger.accounts import Account
from redcard.models import Membership, Order, Payment, User
from redcard.payments.sandbox import SandboxChannel
from redcard.payments.sandbox import trades as sandbox_trades
from tests.fixtures.factories import Plans


async def add_paying_members(
    db: Database, sandbox: SandboxChannel, plans: Plans, n: int, chunk: int = 1000
) -> int:
    await sandbox.ensure_ready()
    plan = plans.annual
    now = utc_now()
    total = 0
    for start in range(0, n, chunk):
        users, orders, payments, cards, trades, entries = [], [], [], [], [], []
        for i in range(start, min(n, start + chunk)):
            user_id, order_id, payment_id = new_id(), new_id(), new_id()
            out_trade_no = f"PC{payment_id.hex}"
            users.append(
                {
                    "id": user_id,
                    "created_at": now,
                    "role": "member",
                    "phone": f"150{i:08d}",
                    "display_name": f"会员{i}",
                    "password_hash": "-",
                }
            )
            orders.append(
                {
                    "id": order_id,
                    "created_at": now,
                    "member_id": user_id,
                    "kind": "membership",
                    "plan_id": plan.id,
                    "terms_version_id": plan.terms_version_id,
                    "amount_fen": plan.price_fen,
                    "currency": "CNY",
                    "status": "paid",
                    "converts_trial": False,
                    "paid_at": now,
                }
            )
            payments.append(
                {
                    "id": payment_id,
                    "created_at": now,
                    "order_id": order_id,
                    "channel": sandbox.name,
                    "out_trade_no": out_trade_no,
                    "amount_fen": plan.price_fen,
                    "status": "succeeded",
                    "channel_trade_no": f"T{payment_id.hex[:20]}",
                    "succeeded_at": now,
                    "refunded_fen": 0,
                }
            )
            cards.append(
                {
                    "id": new_id(),
                    "created_at": now,
                    "member_id": user_id,
                    "plan_id": plan.id,
                    "order_id": order_id,
                    "kind": "paid",
                    "status": "active",
                    "starts_at": now,
                    "ends_at": now + timedelta(days=plan.duration_days),
                    "auto_renew": False,
                }
            )
            trades.append(
                {
                    "out_trade_no": out_trade_no,
                    "trade_no": f"T{payment_id.hex[:20]}",
                    "amount_fen": plan.price_fen,
                    "subject": plan.name,
                    "notify_url": "http://test/api/v1/payments/notify/sandbox",
                    "status": "succeeded",
                    "created_at": now,
                    "paid_at": now,
                }
            )
            entries.append(
                ledger.Entry(
                    "payment",
                    out_trade_no,
                    [
                        ledger.Line(Account.channel_clearing, plan.price_fen),
                        ledger.Line(Account.deferred_membership_revenue, -plan.price_fen),
                    ],
                )
            )
        async with db.session_scope() as session:
            await session.execute(insert(User), users)
            await session.execute(insert(Order), orders)
            await session.execute(insert(Payment), payments)
            await session.execute(insert(Membership), cards)
            await ledger.post_many(session, entries)
        async with sandbox.engine.begin() as conn:
            await conn.execute(sandbox_trades.insert(), trades)
        total += len(users)
    return total
