"""Channel faults during a campaign, from the sandbox: each ends with every order refunded
exactly once (or, for a definitive no, in the operator's exceptions queue)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from redcard.kit import time as clock
from redcard.models import Payment, Refund, RefundStatus
from redcard.payments import refunds as refund_path
from redcard.payments.sandbox import Fault
from redcard.payments.sandbox import refunds as sandbox_refunds
from redcard.sunset import tasks
from redcard.worker import Worker
from tests.fixtures.factories import assert_ledger_ok, drain, idem, run_sunset, settled_refunds_fen


async def _channel_refunds_per_trade(sandbox) -> list[int]:  # type: ignore[no-untyped-def]
    async with sandbox.engine.connect() as conn:
        rows = await conn.execute(
            select(func.count())
            .select_from(sandbox_refunds)
            .group_by(sandbox_refunds.c.out_trade_no)
        )
        return [int(n) for (n,) in rows]


async def _sunset_status(client, w, sunset_id) -> dict:  # type: ignore[no-untyped-def]
    return (await client.get(f"/api/v1/operator/sunsets/{sunset_id}", headers=w.approver_h)).json()


async def test_timeout_after_the_channel_accepted_refunds_once(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(2)
    sunset = await run_sunset(client, w)
    sandbox.inject("refund", Fault.timeout_after_accept, times=2)
    await drain(settings, db, channels, sandbox)
    assert (await _sunset_status(client, w, sunset["id"]))["status"] == "completed"
    assert await _channel_refunds_per_trade(sandbox) == [1, 1]
    assert await settled_refunds_fen(db) == (
        2 * w.plans.annual.price_fen,
        2 * w.plans.annual.price_fen,
    )
    await assert_ledger_ok(db)


async def test_duplicate_callbacks_change_nothing(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(2)
    sunset = await run_sunset(client, w)
    sandbox.inject("notify", Fault.duplicate_notification, times=2)
    await drain(settings, db, channels, sandbox)
    assert (await _sunset_status(client, w, sunset["id"]))["progress"]["done"] == 2
    assert await settled_refunds_fen(db) == (
        2 * w.plans.annual.price_fen,
        2 * w.plans.annual.price_fen,
    )
    await assert_ledger_ok(db)


async def test_callback_before_our_write_commits(
    client, db, sandbox, settings, channels, world_factory
):
    """The worker submits, the channel refunds and calls back, but the worker dies before its
    transaction commits (our refund still says pending). The callback alone settles it, and the
    next worker pass submits nothing new."""
    w = await world_factory(1)
    sunset = await run_sunset(client, w)
    async with db.session_scope() as session:
        assert await session.scalar(select(Refund.status)) == RefundStatus.pending  # reserved
        assert await tasks.run_campaign(session) > 0  # benefits end
    async with db.sessionmaker() as session:
        await refund_path.process_due(session, channels, settings.base_url)
        await session.rollback()  # killed before commit
    async with db.session_scope() as session:
        status = await session.scalar(select(Refund.status))
        assert status == RefundStatus.pending
    assert await sandbox.flush_notifications() == 1  # the callback arrives now
    async with db.session_scope() as session:
        assert await session.scalar(select(Refund.status)) == RefundStatus.succeeded
    await drain(settings, db, channels, sandbox)
    assert await _channel_refunds_per_trade(sandbox) == [1]
    assert (await _sunset_status(client, w, sunset["id"]))["status"] == "completed"
    await assert_ledger_ok(db)


async def test_rejected_refund_goes_to_exceptions_then_retry_and_offline(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(2)
    sunset = await run_sunset(client, w)
    sandbox.inject("refund", Fault.reject, times=2)
    await drain(settings, db, channels, sandbox)
    status = await _sunset_status(client, w, sunset["id"])
    assert status["status"] == "approved"  # not complete while refunds need a person
    assert status["progress"]["failed"] == 2
    queue = (
        await client.get(
            f"/api/v1/operator/sunsets/{sunset['id']}/exceptions", headers=w.approver_h
        )
    ).json()
    assert len(queue) == 2
    assert "rejected" in queue[0]["last_error"]

    retried = await client.post(
        f"/api/v1/operator/refunds/{queue[0]['refund_id']}/retry", headers=w.approver_h | idem()
    )
    assert retried.status_code == 200, retried.text
    empty_ref = await client.post(
        f"/api/v1/operator/refunds/{queue[1]['refund_id']}/offline",
        json={"reference": " "},
        headers=w.approver_h | idem(),
    )
    assert empty_ref.status_code == 422
    offline = await client.post(
        f"/api/v1/operator/refunds/{queue[1]['refund_id']}/offline",
        json={"reference": "银行转账 20260101-17"},
        headers=w.approver_h | idem(),
    )
    assert offline.status_code == 200, offline.text
    await drain(settings, db, channels, sandbox)
    status = await _sunset_status(client, w, sunset["id"])
    assert status["status"] == "completed"
    assert status["progress"]["done"] == 2
    assert status["progress"]["offline"] == 1
    assert await _channel_refunds_per_trade(sandbox) == [1]  # the offline one never hit it
    await assert_ledger_ok(db)


async def test_refund_failing_at_the_bank_lands_in_exceptions(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(1)
    sunset = await run_sunset(client, w)
    sandbox.inject("refund", Fault.fail_refund)
    await drain(settings, db, channels, sandbox)
    status = await _sunset_status(client, w, sunset["id"])
    assert status["progress"]["failed"] == 1
    assert status["progress"]["failed_fen"] == 16800


async def test_worker_step_twice_in_a_row_requests_each_item_once(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(2)
    await run_sunset(client, w)
    worker = Worker(settings, db, channels)
    for _ in range(3):
        await worker.run_once()
    clock.advance(timedelta(seconds=31))
    await drain(settings, db, channels, sandbox)
    async with db.session_scope() as session:
        per_payment = (
            await session.execute(
                select(func.count()).select_from(Refund).group_by(Refund.payment_id)
            )
        ).all()
    assert [n for (n,) in per_payment] == [1, 1]


async def test_approval_reserves_every_refund_so_no_other_path_refunds_twice(
    client, db, sandbox, settings, channels, world_factory
):
    """Approval reserves each card's refund, due at the cut-off: between approval and the
    cut-off, another refund of the same payment no longer fits, and nothing goes to the
    channel before the cut-off."""
    w = await world_factory(3)
    sunset = await run_sunset(client, w, cutoff_in=timedelta(hours=1))
    async with db.session_scope() as session:
        payment = await session.scalar(select(Payment).order_by(Payment.id).limit(1))
        assert payment is not None
        with pytest.raises(refund_path.RefundExceedsPayment, match="only 0 fen"):
            await refund_path.request_refund(session, payment.id, payment.amount_fen, "manual")
    async with db.session_scope() as session:
        assert await refund_path.process_due(session, channels, settings.base_url) == 0
    assert await _channel_refunds_per_trade(sandbox) == []
    status = await _sunset_status(client, w, sunset["id"])
    assert (status["progress"]["pending"], status["progress"]["done"]) == (3, 0)
    clock.advance(timedelta(hours=1))
    await drain(settings, db, channels, sandbox)
    assert await _channel_refunds_per_trade(sandbox) == [1, 1, 1]
    status = await _sunset_status(client, w, sunset["id"])
    assert status["status"] == "completed"
    assert status["progress"]["done"] == 3
    assert status["progress"]["pending"] == 0
    await assert_ledger_ok(db)


async def test_a_refund_the_channel_settles_at_once_settles_in_one_pass(
    client, db, sandbox, settings, channels, world_factory
):
    """After submitting, the worker asks the channel once: a refund already reported
    succeeded settles in the same pass (its one attempt counted); the late callback is a
    duplicate that changes nothing."""
    w = await world_factory(1)
    await run_sunset(client, w)
    async with db.session_scope() as session:
        await tasks.run_campaign(session)  # benefits end
    async with db.session_scope() as session:
        assert await refund_path.process_due(session, channels, settings.base_url) == 1
    async with db.session_scope() as session:
        refund = (await session.scalars(select(Refund))).one()
        assert (refund.status, refund.attempts) == (RefundStatus.succeeded, 1)
        assert refund.channel_refund_no is not None
        assert refund.succeeded_at is not None
    assert await sandbox.flush_notifications() == 1  # the channel's callback, late
    await drain(settings, db, channels, sandbox)
    assert await settled_refunds_fen(db) == (w.plans.annual.price_fen, w.plans.annual.price_fen)
    assert await _channel_refunds_per_trade(sandbox) == [1]
    await assert_ledger_ok(db)


async def test_a_refund_still_processing_at_the_channel_is_polled_later(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(1)
    await run_sunset(client, w)
    sandbox.refund_settles_immediately = False
    try:
        async with db.session_scope() as session:
            await tasks.run_campaign(session)
        async with db.session_scope() as session:
            await refund_path.process_due(session, channels, settings.base_url)
        async with db.session_scope() as session:
            refund = (await session.scalars(select(Refund))).one()
            assert (refund.status, refund.attempts) == (RefundStatus.processing, 1)
        await sandbox.settle_refunds()
        await sandbox.flush_notifications()
        await drain(settings, db, channels, sandbox)
    finally:
        sandbox.refund_settles_immediately = True
    async with db.session_scope() as session:
        assert await session.scalar(select(Refund.status)) == RefundStatus.succeeded
    await assert_ledger_ok(db)
