"""/metrics: the counters move when the matching action happens, and only once it commits."""

from __future__ import annotations

import re

from sqlalchemy import select

from redcard.models import Payment
from redcard.payments import refunds
from redcard.worker import Worker
from tests.fixtures.factories import (
    buy_card,
    code_for,
    idem,
    login,
    new_card_holder,
    new_till_shop,
    new_user,
    setup_plans,
    till,
)


async def _scrape(client) -> dict[str, float]:  # type: ignore[no-untyped-def]
    text = (await client.get("/metrics")).text
    return {
        m.group(1): float(m.group(2)) for m in re.finditer(r"^(redcard_[^\s]+) (\S+)$", text, re.M)
    }


def _moved(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


async def test_purchase_till_and_refund_move_their_counters(  # type: ignore[no-untyped-def]
    client, db, sandbox, channels, settings
) -> None:
    before = await _scrape(client)

    plans = await setup_plans(db)
    member = await new_user(db)
    await buy_card(client, sandbox, await login(client, member), plans.annual.id)

    shop = await new_till_shop(db, discount_bp=1000)
    holder = await new_card_holder(db)
    preview = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, holder), "bill_yuan": "100"},
        headers=till(shop),
    )
    assert preview.status_code == 201, preview.text
    refused = await client.post(  # a commit that fails changes no counter
        "/api/v1/redemptions/00000000-0000-0000-0000-000000000000/commit",
        headers=till(shop) | idem(),
    )
    assert refused.status_code == 404
    done = await client.post(
        f"/api/v1/redemptions/{preview.json()['id']}/commit", headers=till(shop) | idem()
    )
    assert done.status_code == 200, done.text

    async with db.session_scope() as session:
        payment_id = await session.scalar(select(Payment.id))
        assert payment_id is not None
        await refunds.request_refund(session, payment_id, 16800, "test")
    await Worker(settings, db, channels).run_until_idle()

    after = await _scrape(client)
    assert _moved(before, after, 'redcard_purchases_total{plan_kind="paid"}') == 1
    assert _moved(before, after, 'redcard_redemptions_total{kind="code",outcome="committed"}') == 1
    assert _moved(before, after, 'redcard_refunds_total{status="requested"}') == 1
    assert _moved(before, after, 'redcard_refunds_total{status="succeeded"}') == 1
    assert after['redcard_refunds_by_status{status="succeeded"}'] == 1
    assert after['redcard_queue_depth{queue="refunds"}'] == 0
    route = (
        'redcard_http_requests_total{method="POST",'
        'route="/api/v1/redemptions/prepare",status="201"}'
    )
    assert _moved(before, after, route) == 1
    assert _moved(before, after, 'redcard_worker_step_runs_total{step="refunds"}') >= 1


async def test_counts_wait_for_the_commit_and_leave_with_a_rollback(db) -> None:  # type: ignore[no-untyped-def]
    from redcard.ops import metrics

    def purchases() -> float:
        return float(metrics.PURCHASES.labels("test")._value.get())  # type: ignore[attr-defined]

    start = purchases()
    async with db.session_scope() as session:
        metrics.count_on_commit(session, metrics.PURCHASES, "test")
        try:
            async with session.begin_nested():
                metrics.count_on_commit(session, metrics.PURCHASES, "test", amount=10)
                raise RuntimeError("this savepoint rolls back")
        except RuntimeError:
            pass
        assert purchases() == start  # nothing before the commit
    assert purchases() == start + 1  # the outer count only
    try:
        async with db.session_scope() as session:
            metrics.count_on_commit(session, metrics.PURCHASES, "test")
            raise RuntimeError("the request fails")
    except RuntimeError:
        pass
    assert purchases() == start + 1
