"""The whole story on both databases: prepare → dry run → approve (second operator) →
campaign → reconcile → zero differences; members see "refunded"."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import func, select

from redcard.kit import time as clock
from redcard.kit.time import today as clock_today
from redcard.kit.time import utc_now
from redcard.ledger.accounts import Account
from redcard.ledger.service import balance
from redcard.models import Membership, Notification, Refund
from redcard.payments.sandbox import refunds as sandbox_refunds
from redcard.sunset import reconcile as rec
from tests.fixtures.factories import assert_ledger_ok, drain, idem


async def test_sunset_end_to_end(client, db, sandbox, settings, channels, world_factory):
    w = await world_factory(3)
    clock.freeze(utc_now())
    cutoff = utc_now() + timedelta(days=2)
    prepared = await client.post(
        "/api/v1/operator/sunsets",
        json={"cutoff_at": cutoff.isoformat(), "notice": "小红卡将于 1 月 1 日停止服务，全额退款"},
        headers=w.preparer_h | idem(),
    )
    assert prepared.status_code == 201, prepared.text
    sunset = prepared.json()
    assert sunset["status"] == "prepared"
    assert sunset["dry_run"]["count"] == 3
    assert sunset["dry_run"]["total_fen"] == 3 * 16800
    assert sunset["dry_run"]["by_plan"][0]["status"] == "active"
    assert sunset["dry_run"]["manual_count"] == 0

    # the preparer cannot approve their own sunset
    own = await client.post(
        f"/api/v1/operator/sunsets/{sunset['id']}/approve", headers=w.preparer_h | idem()
    )
    assert own.status_code == 403
    assert own.json()["error"] == "TwoPersonRule"

    approved = await client.post(
        f"/api/v1/operator/sunsets/{sunset['id']}/approve", headers=w.approver_h | idem()
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["total_fen"] == sunset["dry_run"]["total_fen"]

    # sales stop at once, with a clear message
    newcomer_h = w.member_h[0]
    refused = await client.post(
        "/api/v1/orders", json={"plan_id": str(w.plans.annual.id)}, headers=newcomer_h | idem()
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "SalesClosed"

    # members were told; benefits still work until the cut-off
    async with db.session_scope() as session:
        notes = await session.scalar(
            select(func.count()).where(Notification.template == "sunset_notice")
        )
        assert notes == 3
    await drain(settings, db, channels, sandbox)
    card = await client.get("/api/v1/memberships/current", headers=w.member_h[1])
    assert card.status_code == 200
    assert card.json()["status"] == "active"

    # the cut-off passes: benefits end and the campaign refunds everyone
    clock.advance(timedelta(days=2, seconds=1))
    await drain(settings, db, channels, sandbox)
    done = (
        await client.get(f"/api/v1/operator/sunsets/{sunset['id']}", headers=w.approver_h)
    ).json()
    assert done["status"] == "completed"
    assert done["progress"]["done"] == 3
    assert done["progress"]["done_fen"] == sunset["dry_run"]["total_fen"]
    assert done["progress"]["failed"] == 0
    assert (
        await client.get("/api/v1/memberships/current", headers=w.member_h[1])
    ).status_code == 404

    for h in w.member_h:
        mine = (await client.get("/api/v1/refunds", headers=h)).json()
        assert [r["status"] for r in mine] == ["succeeded"]
        assert mine[0]["amount_fen"] == 16800
        assert mine[0]["timeline"][-1]["label"] == "Refunded to your payment account"

    # the channel refunded each order exactly once
    async with sandbox.engine.connect() as conn:
        per_trade = (
            await conn.execute(
                select(sandbox_refunds.c.out_trade_no, func.count()).group_by(
                    sandbox_refunds.c.out_trade_no
                )
            )
        ).all()
    assert len(per_trade) == 3
    assert all(n == 1 for _, n in per_trade)

    # reconcile against the channel's bill, through a CSV file: zero differences
    buf = io.StringIO()
    rec.write_csv(await sandbox.bill(clock_today()), buf)
    report = await client.post(
        f"/api/v1/operator/sunsets/{sunset['id']}/reconcile",
        json={"bill_csv": buf.getvalue()},
        headers=w.approver_h,
    )
    assert report.status_code == 200, report.text
    assert report.json()["unexplained"] == 0
    assert report.json()["counts"]["matched"] == 3  # the 3 refunds (the payments were earlier)

    async with db.session_scope() as session:
        assert await balance(session, Account.refunds_payable) == 0
        assert await balance(session, Account.channel_clearing) == 0
        refunded = await session.scalar(select(func.sum(Refund.amount_fen)))
        assert refunded == sunset["dry_run"]["total_fen"]
        statuses = set(await session.scalars(select(Membership.status)))
        assert statuses == {"refunded"}
    await assert_ledger_ok(db)
