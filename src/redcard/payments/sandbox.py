"""The sandbox channel: behaves like Alipay / WeChat Pay, in-process, with its own books.

It is a separate party. It keeps its trades and refunds in its own tables (`sandbox_books`)
on its own connection (its own SQLite file by default), commits independently of our
transactions, signs asynchronous notifications with HMAC-SHA256 over
`timestamp.nonce.raw_body`, answers status queries, refunds idempotently by the caller's
refund number, and serves a daily bill.

Its notifications, their queue and their retries are `sandbox_notify.Notifier`'s: closing
never waits for retries, which stay in the sandbox's books for the next process hosting it.

Payment mandates (周期扣款 / 委托代扣) are `sandbox_mandates.SandboxMandates`'s.

Tests and demos steer it through `inject()`: delay, fail, time out (before or after taking
effect) or send a notification twice. The core only ever sees it through `port.PaymentChannel`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from redcard.db import make_engine
from redcard.kit import time as clock
from redcard.kit.ids import new_id
from redcard.kit.sql import insert_rows, one_of
from redcard.payments import sandbox_books as books
from redcard.payments.port import (
    BillLine,
    ChannelRejected,
    ChannelTimeout,
    InvalidNotification,
    Notification,
    NotificationKind,
    PaymentCreated,
    PaymentRequest,
    RefundAccepted,
    RefundRequest,
    StaleNotification,
    TradeQuery,
    TradeStatus,
)
from redcard.payments.sandbox_books import Fault, meta, refunds, trades
from redcard.payments.sandbox_mandates import SandboxMandates
from redcard.payments.sandbox_notify import (
    HEADER_NONCE,
    HEADER_SIG,
    HEADER_TS,
    Deliver,
    Notifier,
    _Outgoing,
    http_deliver,
)

log = logging.getLogger(__name__)

TOLERANCE = timedelta(seconds=300)


@dataclass
class SandboxChannel(Notifier, SandboxMandates):
    database_url: str
    secret: str
    name: str = "sandbox"
    base_url: str = "http://127.0.0.1:8000"
    refund_settles_immediately: bool = True
    auto_deliver: bool = True  # False: notifications wait for flush_notifications() (tests)
    sends_notifications: bool = True  # False: callbacks are lost (a status query finds all)
    deliver: Deliver = http_deliver
    clock_offset: timedelta = timedelta(0)
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    held: list[_Outgoing] = field(default_factory=list)
    _engine: AsyncEngine | None = None
    _ready: bool = False
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _queue: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _failing: set[str] = field(default_factory=set)  # URLs whose last delivery failed
    _closing: bool = False

    # -- steering (tests and the demo only) ---------------------------------------------------
    def inject(self, operation: str, fault: Fault, times: int = 1) -> None:
        """Make the next `times` calls of `operation` (create_payment, pay, refund, query_refund,
        query_payment, notify) misbehave in the given way."""
        self.faults[operation].extend([fault] * times)

    def _take(self, operation: str, *kinds: Fault) -> Fault | None:
        queue = self.faults.get(operation)
        if queue and queue[0] in kinds:
            return queue.popleft()
        return None

    def now(self) -> datetime:
        return clock.utc_now() + self.clock_offset

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = make_engine(self.database_url, pool_size=4)
        return self._engine

    async def ensure_ready(self) -> None:
        if not self._ready:
            async with self.engine.begin() as conn:
                await conn.run_sync(meta.create_all)
            self._ready = True

    def _steer_notification(self) -> tuple[bool, int]:
        if self._take("notify", Fault.delay_notification):
            return True, 1
        return False, 2 if self._take("notify", Fault.duplicate_notification) else 1

    async def close(self) -> None:
        """Stop sending without waiting for retries (`Notifier._stop_sending`), then let go
        of the books' connections."""
        await self._stop_sending()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._ready = False

    # -- the port -----------------------------------------------------------------------------
    async def create_payment(self, request: PaymentRequest) -> PaymentCreated:
        await self.ensure_ready()
        if self._take("create_payment", Fault.timeout):
            raise ChannelTimeout("sandbox: create_payment timed out")
        async with self.engine.begin() as conn:
            existing = await conn.scalar(
                select(trades.c.amount_fen).where(trades.c.out_trade_no == request.out_trade_no)
            )
            if existing is None:
                await conn.execute(
                    trades.insert().values(
                        out_trade_no=request.out_trade_no,
                        trade_no=f"SBX{new_id().hex[:20].upper()}",
                        amount_fen=request.amount_fen,
                        subject=request.subject[:200],
                        notify_url=request.notify_url,
                        status=TradeStatus.pending.value,
                        created_at=self.now(),
                    )
                )
            elif existing != request.amount_fen:
                raise ChannelRejected("sandbox: out_trade_no reused with another amount")
        from urllib.parse import quote

        return PaymentCreated(
            pay_url=f"/sandbox/pay/{request.out_trade_no}?return={quote(request.return_url)}"
        )

    async def pay(self, out_trade_no: str) -> None:
        """The payer confirms at the sandbox cashier. Sends the signed notification."""
        await self.ensure_ready()
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(select(trades).where(trades.c.out_trade_no == out_trade_no))
            ).one_or_none()
            if row is None:
                raise ChannelRejected("sandbox: unknown trade")
            if row.status == TradeStatus.succeeded.value:
                return
            await conn.execute(
                update(trades)
                .where(trades.c.out_trade_no == out_trade_no)
                .values(status=TradeStatus.succeeded.value, paid_at=self.now())
            )
            sends = await self._queue_notifications(
                conn,
                [
                    self._outgoing(
                        row.notify_url,
                        NotificationKind.payment_succeeded,
                        out_trade_no,
                        row.amount_fen,
                        row.trade_no,
                    )
                ],
            )
        self._dispatch(sends)

    async def query_payment(self, out_trade_no: str) -> TradeQuery:
        await self.ensure_ready()
        if self._take("query_payment", Fault.timeout):
            raise ChannelTimeout("sandbox: query timed out")
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(trades).where(trades.c.out_trade_no == out_trade_no))
            ).one_or_none()
        if row is None:
            return TradeQuery(TradeStatus.unknown, 0)
        return TradeQuery(TradeStatus(row.status), row.amount_fen, row.trade_no, row.paid_at)

    async def refund(self, request: RefundRequest) -> RefundAccepted:
        accepted = await self.refund_many([request])
        result = accepted[0]
        if isinstance(result, Exception):
            raise result
        return result

    async def refund_many(
        self, requests: Sequence[RefundRequest]
    ) -> list[RefundAccepted | Exception]:
        """Bulk form of `refund` (one round trip for many requests); same rules per request."""
        await self.ensure_ready()
        results: list[RefundAccepted | Exception] = []
        to_notify: list[_Outgoing] = []
        now = self.now()
        async with self.engine.begin() as conn:
            refs = [r.out_refund_no for r in requests]
            known = {
                row.out_refund_no: row
                for row in await conn.execute(
                    select(
                        refunds.c.out_refund_no, refunds.c.refund_no, refunds.c.amount_fen
                    ).where(one_of(conn, refunds.c.out_refund_no, refs))
                )
            }
            # each trade with what is already refunded of it, in one read
            trade_nos = {r.out_trade_no for r in requests}
            already = (
                select(refunds.c.out_trade_no, func.sum(refunds.c.amount_fen).label("fen"))
                .where(
                    one_of(conn, refunds.c.out_trade_no, trade_nos), refunds.c.status != "failed"
                )
                .group_by(refunds.c.out_trade_no)
                .subquery()
            )
            trade_rows = {
                row.out_trade_no: row
                for row in await conn.execute(
                    select(
                        trades.c.out_trade_no,
                        trades.c.amount_fen,
                        trades.c.status,
                        func.coalesce(already.c.fen, 0).label("refunded"),
                    )
                    .outerjoin(already, already.c.out_trade_no == trades.c.out_trade_no)
                    .where(one_of(conn, trades.c.out_trade_no, trade_nos))
                )
            }
            refunded: dict[str, int] = defaultdict(
                int, {no: int(row.refunded) for no, row in trade_rows.items()}
            )
            new_rows = []
            for request in requests:
                fault = self._take(
                    "refund",
                    Fault.timeout,
                    Fault.timeout_after_accept,
                    Fault.reject,
                    Fault.fail_refund,
                )
                if fault == Fault.timeout:
                    results.append(ChannelTimeout("sandbox: refund timed out"))
                    continue
                if fault == Fault.reject:
                    results.append(ChannelRejected("sandbox: refund rejected"))
                    continue
                existing = known.get(request.out_refund_no)
                if existing is not None:  # idempotent: same number, same refund
                    if existing.amount_fen != request.amount_fen:
                        results.append(ChannelRejected("sandbox: refund number reused"))
                    else:
                        results.append(RefundAccepted(existing.refund_no))
                    continue
                trade = trade_rows.get(request.out_trade_no)
                if trade is None or trade.status != TradeStatus.succeeded.value:
                    results.append(ChannelRejected("sandbox: trade not paid"))
                    continue
                if refunded[request.out_trade_no] + request.amount_fen > trade.amount_fen:
                    results.append(ChannelRejected("sandbox: refund exceeds payment"))
                    continue
                refunded[request.out_trade_no] += request.amount_fen
                refund_no = f"SBR{secrets.token_hex(10).upper()}"
                failed = fault == Fault.fail_refund
                status = (
                    "failed"
                    if failed
                    else ("succeeded" if self.refund_settles_immediately else "processing")
                )
                new_rows.append(
                    {
                        "out_refund_no": request.out_refund_no,
                        "refund_no": refund_no,
                        "out_trade_no": request.out_trade_no,
                        "amount_fen": request.amount_fen,
                        "notify_url": request.notify_url,
                        "status": status,
                        "created_at": now,
                        "settled_at": None if status == "processing" else now,
                    }
                )
                if status != "processing":
                    kind = (
                        NotificationKind.refund_failed
                        if failed
                        else NotificationKind.refund_succeeded
                    )
                    to_notify.append(
                        self._outgoing(
                            request.notify_url,
                            kind,
                            request.out_refund_no,
                            request.amount_fen,
                            refund_no,
                        )
                    )
                if fault == Fault.timeout_after_accept:
                    results.append(ChannelTimeout("sandbox: refund timed out after accepting"))
                else:
                    results.append(RefundAccepted(refund_no))
            await insert_rows(conn, refunds, new_rows)
            sends = await self._queue_notifications(conn, to_notify)
        self._dispatch(sends)
        return results

    async def settle_refunds(self) -> int:
        """Move processing refunds to succeeded (the bank's side), notifying each."""
        await self.ensure_ready()
        async with self.engine.begin() as conn:
            rows = list(await conn.execute(select(refunds).where(refunds.c.status == "processing")))
            await conn.execute(
                update(refunds)
                .where(refunds.c.status == "processing")
                .values(status="succeeded", settled_at=self.now())
            )
            sends = await self._queue_notifications(
                conn,
                [
                    self._outgoing(
                        row.notify_url,
                        NotificationKind.refund_succeeded,
                        row.out_refund_no,
                        row.amount_fen,
                        row.refund_no,
                    )
                    for row in rows
                ],
            )
        self._dispatch(sends)
        return len(rows)

    async def query_refund(self, out_refund_no: str) -> TradeQuery:
        results = await self.query_refunds([out_refund_no])
        return results[out_refund_no]

    async def query_refunds(self, out_refund_nos: Sequence[str]) -> dict[str, TradeQuery]:
        await self.ensure_ready()
        if self._take("query_refund", Fault.timeout):
            raise ChannelTimeout("sandbox: refund query timed out")
        async with self.engine.connect() as conn:
            rows = {
                row.out_refund_no: row
                for row in await conn.execute(
                    select(
                        refunds.c.out_refund_no,
                        refunds.c.refund_no,
                        refunds.c.amount_fen,
                        refunds.c.status,
                        refunds.c.settled_at,
                    ).where(one_of(conn, refunds.c.out_refund_no, out_refund_nos))
                )
            }
        out: dict[str, TradeQuery] = {}
        for ref in out_refund_nos:
            row = rows.get(ref)
            out[ref] = (
                TradeQuery(TradeStatus.unknown, 0)
                if row is None
                else TradeQuery(
                    TradeStatus.pending if row.status == "processing" else TradeStatus(row.status),
                    row.amount_fen,
                    row.refund_no,
                    row.settled_at,
                )
            )
        return out

    async def bill(self, day: date) -> Sequence[BillLine]:
        """The day's bill as one list (small days; `bill_batches` streams a big one)."""
        return [line async for batch in self.bill_batches(day) for line in batch]

    async def bill_batches(
        self, day: date, batch: int = 10_000, kinds: Iterable[str] = ("payment", "refund")
    ) -> AsyncIterator[list[BillLine]]:
        """The day's bill, `batch` lines at a time (`sandbox_books.bill_batches`)."""
        await self.ensure_ready()
        async for lines in books.bill_batches(self.engine, day, batch, kinds):
            yield lines

    async def download_bill(self, day: date, out: TextIO, kinds: Iterable[str]) -> int | None:
        """The day's bill as the channel's CSV file (`sandbox_books.download_bill`)."""
        await self.ensure_ready()
        return await books.download_bill(self.engine, day, out, kinds)

    # -- verification (the receiving side uses this through the port) -------------------------
    def verify_notification(self, headers: Mapping[str, str], raw_body: bytes) -> Notification:
        lowered = {k.lower(): v for k, v in headers.items()}
        timestamp, nonce, signature = (
            lowered.get(HEADER_TS),
            lowered.get(HEADER_NONCE),
            lowered.get(HEADER_SIG),
        )
        if not (timestamp and nonce and signature):
            raise InvalidNotification("missing signature headers")
        if not hmac.compare_digest(self.sign(timestamp, nonce, raw_body), signature):
            raise InvalidNotification("bad signature")
        try:
            sent_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
        except (ValueError, OverflowError) as exc:
            raise InvalidNotification("bad timestamp") from exc
        if abs(clock.utc_now() - sent_at) > TOLERANCE:
            raise StaleNotification("timestamp outside the 300 s window")
        try:
            data: dict[str, Any] = json.loads(raw_body)
            return Notification(
                event_id=str(data["event_id"]),
                kind=NotificationKind(data["event_type"]),
                reference=str(data["reference"]),
                amount_fen=int(data["amount_fen"]),
                channel_ref=str(data["channel_ref"]),
                occurred_at=datetime.fromisoformat(data["occurred_at"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidNotification("malformed notification body") from exc
