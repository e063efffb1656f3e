"""The refund path's own rules, through its service functions: what may be reserved, the refund
number fixed at request, accepted is not succeeded, the exceptions queue, and the order-kind
registry the path relies on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from redcard.config import Settings
from redcard.db import Database
from redcard.errors import Conflict, NotFound
from redcard.kit import time as clock
from redcard.ledger.accounts import Account
from redcard.membership import service as membership
from redcard.models import (
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Membership,
    MembershipStatus,
    Order,
    OrderKind,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from redcard.order_kinds import register_all
from redcard.payments import orders, refunds
from redcard.payments.channels import Channels
from redcard.payments.port import (
    BillLine,
    BulkRefunds,
    Notification,
    PaymentCreated,
    PaymentRequest,
    RefundAccepted,
    RefundRequest,
    TradeQuery,
)
from redcard.payments.refunds import due
from redcard.payments.sandbox import Fault, SandboxChannel
from redcard.payments.sandbox import refunds as sandbox_refunds
from tests.fixtures.factories import assert_ledger_ok, buy_card, count, login, new_user, setup_plans

PRICE = 16800  # the annual card of `setup_plans`


async def _paid_card(client: httpx.AsyncClient, db: Database, sandbox: SandboxChannel) -> uuid.UUID:
    """A member's card, bought and paid; the payment's id."""
    plans = await setup_plans(db)
    assert plans.annual.price_fen == PRICE
    await buy_card(client, sandbox, await login(client, await new_user(db)), plans.annual.id)
    async with db.session_scope() as session:
        payment = await session.scalar(select(Payment))
    assert payment is not None
    assert payment.status == PaymentStatus.succeeded
    return payment.id


async def _request(db: Database, payment_id: uuid.UUID, amount_fen: int) -> Refund:
    async with db.session_scope() as session:
        return await refunds.request_refund(session, payment_id, amount_fen, "test")


async def _process(db: Database, channels: Channels, settings: Settings) -> int:
    async with db.session_scope() as session:
        return await refunds.process_due(session, channels, settings.base_url)


async def _refund(db: Database, refund_id: uuid.UUID) -> Refund:
    async with db.session_scope() as session:
        return await session.get_one(Refund, refund_id)


async def _payment(db: Database, payment_id: uuid.UUID) -> Payment:
    async with db.session_scope() as session:
        return await session.get_one(Payment, payment_id)


async def _entries(db: Database, kind: str) -> int:
    async with db.session_scope() as session:
        n = await session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == kind)
        )
    return int(n or 0)


async def _channel_refund_nos(sandbox: SandboxChannel) -> list[str]:
    async with sandbox.engine.connect() as conn:
        return list((await conn.scalars(select(sandbox_refunds.c.out_refund_no))).all())


def _spy_on_submissions(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxChannel) -> list[str]:
    """The refund numbers the channel is asked to refund, in order (timeouts included)."""
    seen: list[str] = []
    refund_many = sandbox.refund_many

    async def spy(requests: Sequence[RefundRequest]) -> Sequence[RefundAccepted | Exception]:
        seen.extend(r.out_refund_no for r in requests)
        return await refund_many(requests)

    monkeypatch.setattr(sandbox, "refund_many", spy)
    return seen


async def _next_attempt(db: Database, refund_id: uuid.UUID) -> None:
    """Move the clock to when the worker may take the refund again."""
    clock.freeze(clock.as_utc((await _refund(db, refund_id)).next_attempt_at))


# -- reserving -------------------------------------------------------------------------------------
async def test_a_refund_larger_than_what_is_left_is_refused_and_changes_nothing(
    client, db, sandbox
):
    payment_id = await _paid_card(client, db, sandbox)
    async with db.session_scope() as session:
        payment = await session.get_one(Payment, payment_id)
        for too_much in (PRICE + 1, 0, -5):
            with pytest.raises(refunds.RefundExceedsPayment):
                await refunds.request_refund(session, payment_id, too_much, "test")
        # refused before anything is written, even inside the same unit of work
        assert await session.scalar(select(func.count()).select_from(Refund)) == 0
        assert await session.scalar(select(func.count()).select_from(JournalEntry)) == 1
        assert await refunds.refundable_fen(session, payment) == PRICE
    assert await count(db, Refund) == 0
    assert await _entries(db, "refund_requested") == 0
    await assert_ledger_ok(db)


async def test_only_a_completed_payment_can_be_refunded(db, channels):
    plans = await setup_plans(db)
    member = await new_user(db)
    async with db.session_scope() as session:
        bought = await membership.purchase(
            session, channels, member, plans.annual.id, convert_trial=False, base_url="http://t"
        )
    with pytest.raises(refunds.PaymentNotRefundable):
        await _request(db, bought.payment.id, PRICE)
    with pytest.raises(NotFound):
        await _request(db, uuid.uuid4(), 100)
    assert await count(db, Refund) == 0


async def test_two_partial_refunds_up_to_the_full_amount_then_a_third_is_refused(
    client, db, sandbox, channels, settings
):
    payment_id = await _paid_card(client, db, sandbox)
    first = await _request(db, payment_id, 10000)
    second = await _request(db, payment_id, PRICE - 10000)
    with pytest.raises(refunds.RefundExceedsPayment, match="only 0 fen"):
        await _request(db, payment_id, 1)
    assert first.out_refund_no != second.out_refund_no
    assert await _entries(db, "refund_requested") == 2

    assert await _process(db, channels, settings) == 2
    assert {(await _refund(db, r.id)).status for r in (first, second)} == {RefundStatus.succeeded}
    payment = await _payment(db, payment_id)
    assert payment.refunded_fen == PRICE
    async with db.session_scope() as session:
        order = await session.get_one(Order, payment.order_id)
        card = await session.scalar(select(Membership))
    assert order.status == OrderStatus.refunded  # only once the whole payment is back
    assert card is not None
    assert card.status == MembershipStatus.refunded
    with pytest.raises(refunds.RefundExceedsPayment, match="only 0 fen"):
        await _request(db, payment_id, 1)
    assert sorted(await _channel_refund_nos(sandbox)) == sorted(
        [first.out_refund_no, second.out_refund_no]
    )
    await assert_ledger_ok(db)


async def test_a_partial_refund_leaves_the_order_paid(client, db, sandbox, channels, settings):
    payment_id = await _paid_card(client, db, sandbox)
    await _request(db, payment_id, 500)
    assert await _process(db, channels, settings) == 1
    payment = await _payment(db, payment_id)
    assert payment.refunded_fen == 500
    async with db.session_scope() as session:
        assert (await session.get_one(Order, payment.order_id)).status == OrderStatus.paid
        assert (await session.scalar(select(Membership.status))) == MembershipStatus.active
    await assert_ledger_ok(db)


# -- one refund number, every retry ----------------------------------------------------------------
async def test_the_refund_number_is_fixed_at_request_and_reused_on_every_retry(
    client, db, sandbox, channels, settings, monkeypatch
):
    payment_id = await _paid_card(client, db, sandbox)
    seen = _spy_on_submissions(monkeypatch, sandbox)
    refund = await _request(db, payment_id, PRICE)

    sandbox.inject("refund", Fault.timeout)  # no answer, no effect
    await _process(db, channels, settings)
    after_timeout = await _refund(db, refund.id)
    assert after_timeout.status == RefundStatus.pending
    assert after_timeout.attempts == 1
    assert "timed out" in (after_timeout.last_error or "")
    assert await _process(db, channels, settings) == 0  # waits for its backoff

    await _next_attempt(db, refund.id)
    sandbox.inject("refund", Fault.timeout_after_accept)  # refunded, but no answer
    await _process(db, channels, settings)
    assert (await _refund(db, refund.id)).status == RefundStatus.pending
    assert await _channel_refund_nos(sandbox) == [refund.out_refund_no]

    await _next_attempt(db, refund.id)
    await _process(db, channels, settings)  # the channel knows the number: the same refund
    settled = await _refund(db, refund.id)
    assert settled.status == RefundStatus.succeeded
    assert settled.out_refund_no == refund.out_refund_no
    assert seen == [refund.out_refund_no] * 3
    assert await _channel_refund_nos(sandbox) == [refund.out_refund_no]  # refunded once
    assert (await _payment(db, payment_id)).refunded_fen == PRICE
    assert await _entries(db, "refund") == 1
    await sandbox.flush_notifications()  # the channel's late word changes nothing
    assert (await _payment(db, payment_id)).refunded_fen == PRICE
    assert await _entries(db, "refund") == 1
    await assert_ledger_ok(db)


# -- accepted is not succeeded ---------------------------------------------------------------------
async def test_an_accepted_refund_stays_pending_until_a_verified_notification(
    client, db, sandbox, channels, settings, monkeypatch
):
    payment_id = await _paid_card(client, db, sandbox)
    monkeypatch.setattr(sandbox, "refund_settles_immediately", False)  # the bank takes a while
    refund = await _request(db, payment_id, PRICE)

    assert await _process(db, channels, settings) == 1
    accepted = await _refund(db, refund.id)
    assert accepted.status == RefundStatus.processing
    assert accepted.channel_refund_no  # the channel's acceptance, recorded...
    assert (await _payment(db, payment_id)).refunded_fen == 0  # ...but nothing settled
    assert await _entries(db, "refund") == 0
    assert await _process(db, channels, settings) == 0  # polled only after POLL_AFTER

    assert await sandbox.settle_refunds() == 1  # the bank pays; the channel tells us
    assert await sandbox.flush_notifications() == 1
    assert (await _refund(db, refund.id)).status == RefundStatus.succeeded
    assert (await _payment(db, payment_id)).refunded_fen == PRICE
    assert await _entries(db, "refund") == 1
    await assert_ledger_ok(db)


async def test_an_accepted_refund_settles_on_a_status_query_when_the_notification_is_lost(
    client, db, sandbox, channels, settings, monkeypatch
):
    payment_id = await _paid_card(client, db, sandbox)
    monkeypatch.setattr(sandbox, "refund_settles_immediately", False)
    refund = await _request(db, payment_id, PRICE)
    await _process(db, channels, settings)

    clock.advance(due.POLL_AFTER)
    await _process(db, channels, settings)  # asked again: still processing at the channel
    still = await _refund(db, refund.id)
    assert still.status == RefundStatus.processing
    assert still.attempts == 2

    await sandbox.settle_refunds()
    sandbox.held.clear()  # the notification never arrives
    await _next_attempt(db, refund.id)
    assert await _process(db, channels, settings) == 1
    assert (await _refund(db, refund.id)).status == RefundStatus.succeeded
    assert (await _payment(db, payment_id)).refunded_fen == PRICE
    await assert_ledger_ok(db)


@dataclass
class _PortOnly:
    """The sandbox seen through the required port alone: none of the optional abilities."""

    inner: SandboxChannel
    name: str = "sandbox"

    async def create_payment(self, request: PaymentRequest) -> PaymentCreated:
        return await self.inner.create_payment(request)

    async def query_payment(self, out_trade_no: str) -> TradeQuery:
        return await self.inner.query_payment(out_trade_no)

    async def refund(self, request: RefundRequest) -> RefundAccepted:
        return await self.inner.refund(request)

    async def query_refund(self, out_refund_no: str) -> TradeQuery:
        return await self.inner.query_refund(out_refund_no)

    def verify_notification(self, headers: Mapping[str, str], raw_body: bytes) -> Notification:
        return self.inner.verify_notification(headers, raw_body)

    async def bill(self, day: date) -> Sequence[BillLine]:
        return await self.inner.bill(day)

    async def close(self) -> None:
        return None


async def test_a_channel_without_bulk_calls_is_asked_one_refund_at_a_time(
    client, db, sandbox, settings
):
    payment_id = await _paid_card(client, db, sandbox)
    port_only = _PortOnly(sandbox)
    assert isinstance(sandbox, BulkRefunds)
    assert not isinstance(port_only, BulkRefunds)
    channels = Channels({port_only.name: port_only}, default=port_only.name)
    first = await _request(db, payment_id, 800)
    second = await _request(db, payment_id, 1000)
    sandbox.inject("refund", Fault.reject)

    assert await _process(db, channels, settings) == 2
    statuses = {(await _refund(db, r.id)).status for r in (first, second)}
    # without a bulk status query, an accepted refund waits for its poll
    assert statuses == {RefundStatus.failed, RefundStatus.processing}
    clock.advance(due.POLL_AFTER)
    assert await _process(db, channels, settings) == 1
    statuses = {(await _refund(db, r.id)).status for r in (first, second)}
    assert statuses == {RefundStatus.failed, RefundStatus.succeeded}
    await assert_ledger_ok(db)


# -- the exceptions queue --------------------------------------------------------------------------
async def test_a_refund_failing_max_attempts_times_fails_and_retry_keeps_its_number(
    client, db, sandbox, channels, settings, monkeypatch
):
    payment_id = await _paid_card(client, db, sandbox)
    seen = _spy_on_submissions(monkeypatch, sandbox)
    refund = await _request(db, payment_id, PRICE)
    sandbox.inject("refund", Fault.timeout, times=refunds.MAX_ATTEMPTS)
    for attempt in range(1, refunds.MAX_ATTEMPTS + 1):
        assert await _process(db, channels, settings) == 1
        current = await _refund(db, refund.id)
        assert current.attempts == attempt
        if attempt < refunds.MAX_ATTEMPTS:
            assert current.status == RefundStatus.pending
            await _next_attempt(db, refund.id)
    failed = await _refund(db, refund.id)
    assert failed.status == RefundStatus.failed
    clock.advance(timedelta(days=30))
    assert await _process(db, channels, settings) == 0  # a person decides now

    with pytest.raises(NotFound):
        async with db.session_scope() as session:
            await refunds.retry_failed(session, uuid.uuid4())
    async with db.session_scope() as session:
        retried = await refunds.retry_failed(session, refund.id)
    assert retried.status == RefundStatus.pending
    assert retried.attempts == 0
    assert retried.out_refund_no == refund.out_refund_no
    with pytest.raises(Conflict, match="only a failed refund"):
        async with db.session_scope() as session:
            await refunds.retry_failed(session, refund.id)

    assert await _process(db, channels, settings) == 1
    assert (await _refund(db, refund.id)).status == RefundStatus.succeeded
    assert seen == [refund.out_refund_no] * (refunds.MAX_ATTEMPTS + 1)
    assert await _channel_refund_nos(sandbox) == [refund.out_refund_no]
    assert (await _payment(db, payment_id)).refunded_fen == PRICE
    await assert_ledger_ok(db)


async def test_mark_offline_settles_a_failed_refund_with_a_balanced_entry(
    client, db, sandbox, channels, settings
):
    payment_id = await _paid_card(client, db, sandbox)
    refund = await _request(db, payment_id, 6000)
    with pytest.raises(Conflict, match="only a failed refund"):
        async with db.session_scope() as session:
            await refunds.mark_offline(session, refund.id, "bank transfer 42")
    sandbox.inject("refund", Fault.reject)
    await _process(db, channels, settings)
    assert (await _refund(db, refund.id)).status == RefundStatus.failed
    with pytest.raises(Conflict, match="needs a reference"):
        async with db.session_scope() as session:
            await refunds.mark_offline(session, refund.id, "  ")

    async with db.session_scope() as session:
        await refunds.mark_offline(session, refund.id, " bank transfer 42 ")
    offline = await _refund(db, refund.id)
    assert offline.status == RefundStatus.offline
    assert offline.offline_reference == "bank transfer 42"
    assert offline.settle_entry_ref == refund.out_refund_no
    assert (await _payment(db, payment_id)).refunded_fen == 6000
    async with db.session_scope() as session:
        entry = await session.scalar(select(JournalEntry).where(JournalEntry.kind == "refund"))
        assert entry is not None
        lines = dict(
            (
                await session.execute(
                    select(LedgerAccount.code, JournalLine.amount_fen)
                    .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
                    .where(JournalLine.entry_id == entry.id)
                )
            ).all()
        )
    assert entry.ref == refund.out_refund_no
    assert entry.memo == "offline: bank transfer 42"
    assert lines == {Account.refunds_payable: 6000, Account.channel_clearing: -6000}
    assert await _channel_refund_nos(sandbox) == []  # the money went back outside the channel
    with pytest.raises(Conflict):
        async with db.session_scope() as session:
            await refunds.mark_offline(session, refund.id, "again")
    await assert_ledger_ok(db)


# -- the order-kind registry -----------------------------------------------------------------------
def test_handler_for_an_unregistered_order_kind_raises(monkeypatch):
    monkeypatch.setattr(orders, "_handlers", {})
    with pytest.raises(orders.UnregisteredOrderKind, match="register_all"):
        orders.handler_for(Order(kind=OrderKind.membership))
    register_all()
    register_all()  # start-up may run twice
    assert orders.registered_kinds() == set(OrderKind)
    assert orders.handler_for(Order(kind=OrderKind.store_bill)).credit_owner is not None
    with pytest.raises(ValueError, match="another handler"):
        orders.register_order_kind(
            OrderKind.event, orders.handler_for(Order(kind=OrderKind.membership))
        )


# -- concurrency -----------------------------------------------------------------------------------
async def _request_in_own_session(db: Database, payment_id: uuid.UUID, amount_fen: int) -> str:
    async with db.sessionmaker() as session:
        try:
            await refunds.request_refund(session, payment_id, amount_fen, "race")
            await session.commit()
            return "ok"
        except Exception as exc:
            await session.rollback()
            return type(exc).__name__


@pytest.mark.postgres_only
async def test_parallel_refund_requests_never_refund_more_than_the_payment(client, db, sandbox):
    payment_id = await _paid_card(client, db, sandbox)
    share = 5000  # three fit in 16800, a fourth does not
    results = await asyncio.gather(
        *[_request_in_own_session(db, payment_id, share) for _ in range(12)]
    )
    assert results.count("ok") == PRICE // share, results
    assert set(results) == {"ok", "RefundExceedsPayment"}
    async with db.session_scope() as session:
        reserved = await session.scalar(select(func.sum(Refund.amount_fen)))
        payment = await session.get_one(Payment, payment_id)
        assert await refunds.refundable_fen(session, payment) == PRICE - 3 * share
    assert reserved == 3 * share
    assert await _entries(db, "refund_requested") == 3
    await assert_ledger_ok(db)


async def test_a_failed_refund_cannot_come_back_once_its_money_is_refunded_otherwise(
    client, db, sandbox, channels, settings
):
    """A failed refund stops counting against its payment; if another refund takes the
    money, neither a retry nor an offline settlement may refund it a second time."""
    payment_id = await _paid_card(client, db, sandbox)
    failed = await _request(db, payment_id, PRICE)
    sandbox.inject("refund", Fault.reject)
    await _process(db, channels, settings)
    assert (await _refund(db, failed.id)).status == RefundStatus.failed
    replacement = await _request(db, payment_id, PRICE)  # the whole amount, again

    with pytest.raises(refunds.RefundExceedsPayment, match="no longer fits"):
        async with db.session_scope() as session:
            await refunds.retry_failed(session, failed.id)
    with pytest.raises(refunds.RefundExceedsPayment, match="0 fen left"):
        async with db.session_scope() as session:
            await refunds.mark_offline(session, failed.id, "bank transfer 7")
    assert (await _refund(db, failed.id)).status == RefundStatus.failed  # unchanged

    assert await _process(db, channels, settings) == 1
    assert (await _refund(db, replacement.id)).status == RefundStatus.succeeded
    assert (await _payment(db, payment_id)).refunded_fen == PRICE
    await assert_ledger_ok(db)


async def _retry_in_own_session(db: Database, refund_id: uuid.UUID) -> str:
    async with db.sessionmaker() as session:
        try:
            await refunds.retry_failed(session, refund_id)
            await session.commit()
            return "retried"
        except Exception as exc:
            await session.rollback()
            return type(exc).__name__


@pytest.mark.postgres_only
async def test_a_retry_racing_new_requests_never_refunds_more_than_the_payment(
    client, db, sandbox, channels, settings
):
    payment_id = await _paid_card(client, db, sandbox)
    failed = await _request(db, payment_id, 10000)
    sandbox.inject("refund", Fault.reject)
    await _process(db, channels, settings)
    assert (await _refund(db, failed.id)).status == RefundStatus.failed
    racers = [_retry_in_own_session(db, failed.id) for _ in range(4)]
    racers += [_request_in_own_session(db, payment_id, 10000) for _ in range(4)]
    results = await asyncio.gather(*racers)
    # 16800 fits one refund of 10000: the retry or one new request, never both
    assert results.count("retried") + results.count("ok") == 1, results
    async with db.session_scope() as session:
        live = await session.scalar(
            select(func.sum(Refund.amount_fen)).where(
                Refund.payment_id == payment_id, Refund.status != RefundStatus.failed
            )
        )
    assert live == 10000
    await assert_ledger_ok(db)
