"""The sandbox channel's own books: its trades and refunds tables (on its own connection, apart
from ours), the daily bill read from them (as lines or as the channel's CSV file), and its queue
of outgoing notifications with their delivery attempts."""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TextIO

from sqlalchemy import BigInteger, Integer, MetaData, String, Table, Text, and_, func, select
from sqlalchemy import Column as C
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from redcard.kit.sql import insert_rows, one_of, update_rows
from redcard.kit.time import as_utc, day_bounds
from redcard.models.base import UTCDateTime
from redcard.payments.port import BillLine


class Fault(StrEnum):
    timeout = "timeout"  # no effect, no answer
    timeout_after_accept = "timeout_after_accept"  # takes effect, then no answer
    reject = "reject"  # a definitive no
    delay_notification = "delay_notification"  # hold the notification until flushed
    duplicate_notification = "duplicate_notification"  # send it twice
    fail_refund = "fail_refund"  # accept, then the refund fails at the bank


meta = MetaData()
trades = Table(
    "sandbox_trades",
    meta,
    C("out_trade_no", String(64), primary_key=True),
    C("trade_no", String(64), nullable=False),
    C("amount_fen", BigInteger, nullable=False),
    C("subject", String(200), nullable=False),
    C("notify_url", String(500), nullable=False),
    C("status", String(16), nullable=False),
    C("created_at", UTCDateTime(), nullable=False),
    C("paid_at", UTCDateTime()),
)
refunds = Table(
    "sandbox_refunds",
    meta,
    C("out_refund_no", String(64), primary_key=True),
    C("refund_no", String(64), nullable=False),
    C("out_trade_no", String(64), nullable=False, index=True),
    C("amount_fen", BigInteger, nullable=False),
    C("notify_url", String(500), nullable=False),
    C("status", String(16), nullable=False),
    C("created_at", UTCDateTime(), nullable=False),
    C("settled_at", UTCDateTime()),
)
# what the sandbox owes the receivers: each notification from the moment the change it reports
# commits (same transaction) until it is delivered (then deleted). Durable, so a process that
# stops before delivering leaves it to the next process running the sandbox.
notifications = Table(
    "sandbox_notifications",
    meta,
    C("id", String(32), primary_key=True),
    C("url", String(500), nullable=False),
    C("body", Text, nullable=False),
    C("attempts", Integer, nullable=False),
    # when the sandbox tries (again); NULL: off its schedule (held for a test's flush, or
    # given up after its last attempt)
    C("next_attempt_at", UTCDateTime(), index=True),
    C("created_at", UTCDateTime(), nullable=False),
)


# the sandbox's bill file (`download_bill`): the lines `bill_batches` streams (a test holds
# both to the same bill), BillLine's fields in order, `at` in UTC
_BILL_AT = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
_BILL_FILE = {
    "payment": "SELECT 'payment', out_trade_no, out_trade_no, amount_fen, trade_no, "
    + _BILL_AT.format("paid_at")
    + " FROM sandbox_trades WHERE status = 'succeeded' AND paid_at >= $1 AND paid_at < $2",
    "refund": "SELECT 'refund', out_refund_no, out_trade_no, amount_fen, refund_no, "
    + _BILL_AT.format("settled_at")
    + " FROM sandbox_refunds WHERE status = 'succeeded' AND settled_at >= $1 AND settled_at < $2",
}


async def bill_batches(
    engine: AsyncEngine, day: date, batch: int, kinds: Iterable[str]
) -> AsyncIterator[list[BillLine]]:
    """The day's bill, `batch` lines at a time, read with a server-side cursor: a
    million-line day never sits in memory at once. The bill's day is the programme zone's
    (as Alipay's and WeChat Pay's bills are China time days)."""
    start, end = day_bounds(day)
    queries = {
        "payment": select(
            trades.c.out_trade_no,
            trades.c.out_trade_no,
            trades.c.amount_fen,
            trades.c.trade_no,
            trades.c.paid_at,
        ).where(
            and_(
                trades.c.status == "succeeded",
                trades.c.paid_at >= start,
                trades.c.paid_at < end,
            )
        ),
        "refund": select(
            refunds.c.out_refund_no,
            refunds.c.out_trade_no,
            refunds.c.amount_fen,
            refunds.c.refund_no,
            refunds.c.settled_at,
        ).where(
            and_(
                refunds.c.status == "succeeded",
                refunds.c.settled_at >= start,
                refunds.c.settled_at < end,
            )
        ),
    }
    async with engine.connect() as conn:
        for kind in kinds:
            result = await conn.stream(queries[kind])
            async for rows in result.partitions(batch):
                yield [BillLine(kind, *row) for row in rows]


async def download_bill(
    engine: AsyncEngine, day: date, out: TextIO, kinds: Iterable[str]
) -> int | None:
    """The day's bill as the channel's file: one CSV line per bill line, `BillLine`'s
    fields in order, no header, written to `out` by the database (COPY ... TO STDOUT) on
    PostgreSQL. None where the sandbox has no such file (SQLite): use `bill_batches`."""
    if engine.dialect.name != "postgresql":
        return None
    start, end = day_bounds(day)
    decoder = codecs.getincrementaldecoder("utf-8")()
    n = 0

    async def sink(data: bytes) -> None:
        nonlocal n
        n += data.count(b"\n")
        out.write(decoder.decode(data))

    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for kind in kinds:
            await raw.copy_from_query(_BILL_FILE[kind], start, end, output=sink, format="csv")
    out.write(decoder.decode(b"", final=True))
    return n


# -- the notification queue ---------------------------------------------------------------------
async def queue_notifications(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add notifications to the queue, inside the caller's transaction."""
    await insert_rows(conn, notifications, rows)


async def claim_due(
    engine: AsyncEngine, now: datetime, lease_until: datetime, limit: int
) -> list[tuple[str, str, str, int]]:
    """Notifications whose time has come (id, url, body, attempts), oldest first, each moved
    to `lease_until` so that no other process sends it meanwhile (one that dies sending it
    leaves it due then)."""
    async with engine.begin() as conn:
        stmt = (
            select(
                notifications.c.id,
                notifications.c.url,
                notifications.c.body,
                notifications.c.attempts,
            )
            .where(notifications.c.next_attempt_at <= now)
            .order_by(notifications.c.next_attempt_at, notifications.c.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(await conn.execute(stmt))
        if rows:
            await conn.execute(
                notifications.update()
                .where(one_of(conn, notifications.c.id, [r.id for r in rows]))
                .values(next_attempt_at=lease_until)
            )
    return [(r.id, r.url, r.body, r.attempts) for r in rows]


async def record_attempts(
    engine: AsyncEngine, delivered: Sequence[str], undelivered: Sequence[Mapping[str, Any]]
) -> None:
    """Delivered notifications leave the queue; undelivered ones get their attempts and
    their next try (`id`, `attempts`, `next_attempt_at`)."""
    if not delivered and not undelivered:
        return
    async with engine.begin() as conn:
        await update_rows(conn, notifications, undelivered)  # type: ignore[arg-type]
        if delivered:
            await conn.execute(
                notifications.delete().where(one_of(conn, notifications.c.id, delivered))
            )


async def next_due(engine: AsyncEngine) -> datetime | None:
    """When the queue's next notification is due (None: nothing is scheduled)."""
    async with engine.connect() as conn:
        at = await conn.scalar(select(func.min(notifications.c.next_attempt_at)))
    return None if at is None else as_utc(at)
