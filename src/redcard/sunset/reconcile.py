"""Reconciliation (对账) of the channel's bill against our records.

Every bill line and every one of our settled refunds in scope gets one class:
- matched: both sides, same amount;
- 长款 (long): the channel shows more than our records;
- 短款 (short): the channel shows less than our records;
- 单边账 (one-sided): on one side only (the channel's, or ours).

A campaign's report also says which business days (the programme's zone) its refunds happened
on and which of them the bill does not cover, and warns when the bill covers none of them: a
clean report over the wrong day must not read as "no differences".

The bill is CSV (`write_csv` / `read_csv`, as `redcard sunset bill` downloads it through the
channel port). Lines are loaded into a temporary table in chunks (COPY on PostgreSQL) and
classified in SQL, so a million-line bill never sits in memory as objects.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TextIO

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from redcard.errors import InvalidInput
from redcard.kit.sql import dialect_name, rowcount
from redcard.kit.time import business_day, business_days, day_bounds, zone
from redcard.models import Payment, PaymentStatus, Refund, RefundStatus
from redcard.payments.port import BillFile, BillLine, PaymentChannel, StreamedBill

MATCHED, LONG, SHORT, ONE_SIDED = "matched", "长款", "短款", "单边账"
CSV_FIELDS = ["kind", "reference", "out_trade_no", "amount_fen", "channel_ref", "at"]
# a bill's amounts and times, as read_csv and the database (a COPY'd bill) both check them
_AMOUNT = r"[+-]?[0-9]{1,18}"
_TIME = (  # a date, or a date and time to the minute or finer, with or without its zone
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?"
)
_ZONED = r"[T ].*(Z|[+-]\d{2}(:?\d{2})?)$"  # a time with its zone (else UTC)
_AMOUNT_RE, _TIME_RE = re.compile(_AMOUNT), re.compile(_TIME)
CHUNK = 10_000

_meta = MetaData()
bill_table = Table(
    "reconcile_bill",
    _meta,
    Column("kind", String(16), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("day", String(10), nullable=False),
    prefixes=["TEMPORARY"],
)


# -- the bill file ----------------------------------------------------------------------------
def write_csv(lines: Iterable[BillLine], out: TextIO, *, header: bool = True) -> int:
    writer = csv.writer(out)
    if header:
        writer.writerow(CSV_FIELDS)
    n = 0
    for line in lines:
        writer.writerow(
            [
                line.kind,
                line.reference,
                line.out_trade_no,
                line.amount_fen,
                line.channel_ref,
                line.at.astimezone(UTC).isoformat(),
            ]
        )
        n += 1
    return n


async def write_bill_csv(
    channel: PaymentChannel, day: date, out: TextIO, kinds: Sequence[str] = ()
) -> int:
    """Download a day's bill through the channel port into `out`: the channel's own file when
    it has one in our columns (`BillFile`), in batches when it streams its bill
    (`StreamedBill`), else as the port's one list. `kinds` keeps only those lines (all when
    empty)."""
    write_csv([], out)
    if isinstance(channel, BillFile):  # the channel's own file, in these columns
        downloaded = await channel.download_bill(day, out, kinds or ("payment", "refund"))
        if downloaded is not None:
            return int(downloaded)
    n = 0
    if isinstance(channel, StreamedBill):
        async for batch in channel.bill_batches(day, kinds=kinds or ("payment", "refund")):
            n += write_csv(batch, out, header=False)
        return n
    lines = await channel.bill(day)
    return write_csv((x for x in lines if not kinds or x.kind in kinds), out, header=False)


def read_csv(source: Iterable[str]) -> Iterator[BillLine]:
    reader = csv.DictReader(source)
    _check_columns(reader.fieldnames or [])
    for number, row in enumerate(reader, start=2):
        try:
            if not (
                _AMOUNT_RE.fullmatch(row["amount_fen"] or "")
                and _TIME_RE.fullmatch(row["at"] or "")
            ):
                raise ValueError
            amount = int(row["amount_fen"])
            at = datetime.fromisoformat(row["at"])
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"bill line {number}: bad amount or time") from exc
        if row["kind"] not in ("payment", "refund") or not row["reference"]:
            raise InvalidInput(f"bill line {number}: unknown kind or empty reference")
        yield BillLine(
            row["kind"],
            row["reference"],
            row["out_trade_no"],
            amount,
            row["channel_ref"],
            at if at.tzinfo else at.replace(tzinfo=UTC),
        )


def _check_columns(header: Sequence[str]) -> None:
    if sorted(header) != sorted(CSV_FIELDS):
        raise InvalidInput(f"a bill has the columns {', '.join(CSV_FIELDS)}, once each")


# -- the report -------------------------------------------------------------------------------
@dataclass
class Difference:
    cls: str
    kind: str
    reference: str
    bill_fen: int
    ours_fen: int
    note: str


@dataclass
class Tally:
    lines: int = 0
    fen: int = 0


@dataclass
class CampaignDay:
    """One business day on which the campaign's refunds succeeded, and whether the bill has it."""

    day: str
    refunds: int
    fen: int
    in_bill: bool


@dataclass
class ReconcileReport:
    bill_lines: int = 0
    our_refunds: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    # payments and refunds apart: a payment and a refund never add up to one amount
    payments: dict[str, Tally] = field(default_factory=dict)
    refunds: dict[str, Tally] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    bill_days: list[str] = field(default_factory=list)
    campaign_days: list[CampaignDay] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def unexplained(self) -> int:
        return sum(n for cls, n in self.counts.items() if cls != MATCHED)

    @property
    def missing_days(self) -> list[str]:
        return [d.day for d in self.campaign_days if not d.in_bill]

    @property
    def complete(self) -> bool:
        """No difference, and every day of the campaign's refunds is in the bill."""
        return not self.unexplained and not self.missing_days

    def add(self, cls: str, kind: str, lines: int, fen: int) -> None:
        self.counts[cls] = self.counts.get(cls, 0) + lines
        tally = (self.payments if kind == "payment" else self.refunds).setdefault(cls, Tally())
        tally.lines += lines
        tally.fen += fen

    def as_dict(self) -> dict[str, Any]:
        return {
            "bill_lines": self.bill_lines,
            "our_refunds": self.our_refunds,
            "counts": self.counts,
            "payments": {cls: t.__dict__ for cls, t in self.payments.items()},
            "refunds": {cls: t.__dict__ for cls, t in self.refunds.items()},
            "unexplained": self.unexplained,
            "differences": [d.__dict__ for d in self.differences],
            "bill_days": self.bill_days,
            "campaign_days": [d.__dict__ for d in self.campaign_days],
            "missing_days": self.missing_days,
            "warnings": self.warnings,
            "complete": self.complete,
        }


def _chunks(lines: Iterable[BillLine], days: set[str]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for line in lines:
        day = business_day(line.at).isoformat()
        days.add(day)
        chunk.append(
            {
                "kind": line.kind,
                "reference": line.reference,
                "amount_fen": line.amount_fen,
                "day": day,
            }
        )
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _new_bill(conn: AsyncConnection) -> None:
    await conn.run_sync(lambda c: bill_table.drop(c, checkfirst=True))
    await conn.run_sync(lambda c: bill_table.create(c))


async def _index_bill(conn: AsyncConnection) -> None:
    """Once the bill is loaded: its index for the joins, and statistics on PostgreSQL."""
    await conn.exec_driver_sql("CREATE INDEX reconcile_bill_ref ON reconcile_bill (reference)")
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("ANALYZE reconcile_bill")


async def _load(session: AsyncSession, lines: Iterable[BillLine]) -> tuple[int, set[str]]:
    conn = await session.connection()
    await _new_bill(conn)
    days: set[str] = set()
    n = 0
    pg = dialect_name(session) == "postgresql"
    for chunk in _chunks(lines, days):
        n += len(chunk)
        if pg:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                "reconcile_bill",
                records=[(r["kind"], r["reference"], r["amount_fen"], r["day"]) for r in chunk],
                columns=["kind", "reference", "amount_fen", "day"],
            )
        else:
            await conn.execute(bill_table.insert(), chunk)
    await _index_bill(conn)
    return n, days


_STAGED = "reconcile_staged"


async def _copy_csv(session: AsyncSession, sources: Sequence[TextIO]) -> tuple[int, set[str]]:
    """PostgreSQL: COPY each file into a staging table of text columns (numbered lines), then
    fill `reconcile_bill` from it with the lines that pass read_csv's checks, in one pass."""
    import asyncpg

    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    await conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGED}")
    columns = ", ".join(f"{name} text" for name in CSV_FIELDS)
    await conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {_STAGED} (file int, n bigserial, {columns})"
    )
    copied = 0
    for number, source in enumerate(sources):
        header = next(csv.reader([source.readline()]), [])
        _check_columns(header)
        await conn.exec_driver_sql(f"ALTER TABLE {_STAGED} ALTER COLUMN file SET DEFAULT {number}")

        async def chunks(source: TextIO = source) -> AsyncIterator[bytes]:
            while data := source.read(1 << 20):
                yield data.encode()

        try:
            async with session.begin_nested():
                status = await raw.copy_to_table(
                    _STAGED, source=chunks(), columns=header, format="csv"
                )
            copied += int(status.split()[-1])  # "COPY <rows>"
        except asyncpg.PostgresError as exc:
            where = getattr(exc, "context", None) or ""
            raise InvalidInput(f"the bill is not CSV the way we read it: {exc} {where}") from exc
    # one pass fills the bill with the good lines; if any is missing, the first bad line is
    # refused with its number, as read_csv numbers them (the header is line 1)
    patterns = {
        "amount": f"^{_AMOUNT}$",
        "time": f"^{_TIME}$",
        "zoned": _ZONED,
        "zone": zone().key,
    }
    bad_amount_or_time = "coalesce(amount_fen, '') !~ :amount OR coalesce(at, '') !~ :time"
    bad_line = (
        f"{bad_amount_or_time} OR coalesce(kind, '') NOT IN ('payment', 'refund') "
        "OR coalesce(reference, '') = ''"
    )
    await _new_bill(conn)
    try:
        async with session.begin_nested():
            n = rowcount(
                await conn.execute(
                    text(
                        "INSERT INTO reconcile_bill (kind, reference, amount_fen, day) "
                        "SELECT kind, reference, CAST(amount_fen AS bigint), to_char(CAST((CASE "
                        "WHEN at ~ :zoned THEN CAST(at AS timestamptz) "
                        "ELSE CAST(at AS timestamp) AT TIME ZONE 'UTC' END) "  # unzoned: UTC
                        "AT TIME ZONE :zone AS date), 'YYYY-MM-DD') "  # the programme's day
                        f"FROM {_STAGED} WHERE NOT ({bad_line})"
                    ),
                    patterns,
                )
            )
    except DBAPIError as exc:
        raise InvalidInput("the bill has a time that is not a date and time") from exc
    if n != copied:
        bad = (
            await conn.execute(
                text(
                    f"SELECT file, n - (SELECT min(n) FROM {_STAGED} f WHERE f.file = s.file) "
                    f"+ 2, {bad_amount_or_time} FROM {_STAGED} s WHERE {bad_line} "
                    "ORDER BY file, n LIMIT 1"
                ),
                patterns,
            )
        ).one()
        what = "bad amount or time" if bad[2] else "unknown kind or empty reference"
        where = f"bill {bad[0] + 1}, line {bad[1]}" if len(sources) > 1 else f"bill line {bad[1]}"
        raise InvalidInput(f"{where}: {what}")
    await conn.exec_driver_sql(f"DROP TABLE {_STAGED}")
    await _index_bill(conn)
    days = {day for (day,) in await conn.exec_driver_sql("SELECT DISTINCT day FROM reconcile_bill")}
    return n, days


def _classify(bill_fen: Any, ours_fen: Any) -> Any:
    return case(
        (ours_fen == 0, literal(ONE_SIDED)),
        (bill_fen == ours_fen, literal(MATCHED)),
        (bill_fen > ours_fen, literal(LONG)),
        else_=literal(SHORT),
    )


async def reconcile(
    session: AsyncSession,
    lines: Iterable[BillLine],
    *,
    campaign_id: uuid.UUID | None = None,
    max_differences: int = 200,
) -> ReconcileReport:
    """Classify every bill line and every refund we settled through the channel on the bill's
    days (only the campaign's, when one is given)."""
    n, days = await _load(session, lines)
    return await _classify_loaded(session, n, days, campaign_id, max_differences)


async def reconcile_csv(
    session: AsyncSession,
    sources: Sequence[TextIO],
    *,
    campaign_id: uuid.UUID | None = None,
    max_differences: int = 200,
) -> ReconcileReport:
    """`reconcile` for bill files (CSV, `write_csv`'s columns in any order). On PostgreSQL each
    file goes into the database with COPY as it is and is checked there, a million lines in
    seconds; elsewhere line by line (`read_csv`). Both check the same patterns and refuse a
    bad line with its number."""
    if dialect_name(session) != "postgresql":
        return await reconcile(
            session,
            (line for source in sources for line in read_csv(source)),
            campaign_id=campaign_id,
            max_differences=max_differences,
        )
    n, days = await _copy_csv(session, sources)
    return await _classify_loaded(session, n, days, campaign_id, max_differences)


async def _classify_loaded(
    session: AsyncSession,
    bill_lines: int,
    days: set[str],
    campaign_id: uuid.UUID | None,
    max_differences: int,
) -> ReconcileReport:
    report = ReconcileReport(bill_lines=bill_lines)
    b = bill_table
    # bill lines against our refunds / payments (what WE recorded as settled at the channel)
    refund_ours = case((Refund.status == RefundStatus.succeeded, Refund.amount_fen), else_=0)
    payment_ours = case((Payment.status == PaymentStatus.succeeded, Payment.amount_fen), else_=0)
    refund_side = (
        select(
            b.c.kind,
            b.c.reference,
            b.c.amount_fen.label("bill_fen"),
            func.coalesce(refund_ours, 0).label("ours_fen"),
            func.coalesce(cast(Refund.status, String(32)), "missing").label("ours_status"),
        )
        .select_from(b.outerjoin(Refund, Refund.out_refund_no == b.c.reference))
        .where(b.c.kind == "refund")
    )
    payment_side = (
        select(
            b.c.kind,
            b.c.reference,
            b.c.amount_fen.label("bill_fen"),
            func.coalesce(payment_ours, 0).label("ours_fen"),
            func.coalesce(cast(Payment.status, String(32)), "missing").label("ours_status"),
        )
        .select_from(b.outerjoin(Payment, Payment.out_trade_no == b.c.reference))
        .where(b.c.kind == "payment")
    )
    lines_q = refund_side.union_all(payment_side).subquery()
    cls = _classify(lines_q.c.bill_fen, lines_q.c.ours_fen).label("cls")
    for name, kind, n, fen in await session.execute(
        select(
            cls, lines_q.c.kind, func.count(), func.coalesce(func.sum(lines_q.c.bill_fen), 0)
        ).group_by(cls, lines_q.c.kind)
    ):
        report.add(name, kind, int(n), int(fen))
    for row in await session.execute(
        select(lines_q, cls).where(cls != MATCHED).limit(max_differences)
    ):
        note = (
            "on the channel's bill only"
            if row.ours_status == "missing"
            else f"ours is {row.ours_status}"
        )
        report.differences.append(
            Difference(row.cls, row.kind, row.reference, row.bill_fen, row.ours_fen, note)
        )
    # our settled refunds, on the bill's days, that the bill does not show
    report.bill_days = sorted(days)
    scope = [Refund.status == RefundStatus.succeeded, _on_days(Refund.succeeded_at, days)]
    if campaign_id is not None:
        scope.append(Refund.campaign_id == campaign_id)
    report.our_refunds = int(
        await session.scalar(select(func.count()).select_from(Refund).where(and_(*scope))) or 0
    )
    missing = (
        select(Refund.out_refund_no, Refund.amount_fen)
        .select_from(
            Refund.__table__.outerjoin(
                b, and_(b.c.reference == Refund.out_refund_no, b.c.kind == "refund")
            )
        )
        .where(and_(*scope), b.c.reference.is_(None))
    )
    sub = missing.subquery()
    n, fen = (
        await session.execute(select(func.count(), func.coalesce(func.sum(sub.c.amount_fen), 0)))
    ).one()
    if n:
        report.add(ONE_SIDED, "refund", int(n), int(fen))  # ours only: our amounts
        room = max(0, max_differences - len(report.differences))
        for ref, amount in await session.execute(missing.limit(room)):
            report.differences.append(
                Difference(ONE_SIDED, "refund", ref, 0, int(amount), "in our records only")
            )
    if campaign_id is not None:
        await _cover_campaign_days(session, report, campaign_id, days)
    conn = await session.connection()
    await conn.run_sync(lambda c: bill_table.drop(c, checkfirst=True))
    return report


def _on_days(column: Any, days: set[str]) -> Any:
    """`column` (a UTC time) falls on one of these business days (the programme's zone)."""
    spans = [day_bounds(date.fromisoformat(day)) for day in sorted(days)]
    return or_(false(), *[and_(column >= start, column < end) for start, end in spans])


async def _cover_campaign_days(
    session: AsyncSession, report: ReconcileReport, campaign_id: uuid.UUID, days: set[str]
) -> None:
    """Which business days the campaign's channel refunds succeeded on, each with whether the
    bill covers it; warnings for the days it does not and for a bill that covers none."""
    ours = and_(Refund.campaign_id == campaign_id, Refund.status == RefundStatus.succeeded)
    first, last = (
        await session.execute(
            select(func.min(Refund.succeeded_at), func.max(Refund.succeeded_at)).where(ours)
        )
    ).one()
    if first is None or last is None:
        return
    span = business_days(first, last)
    # one scan: each refund's day is the first of the days' ends it falls before
    bucket = case(
        *[(Refund.succeeded_at < day_bounds(d)[1], literal(i)) for i, d in enumerate(span)],
        else_=literal(len(span)),
    ).label("bucket")
    per_day = {
        int(i): (int(n), int(fen))
        for i, n, fen in await session.execute(
            select(bucket, func.count(), func.sum(Refund.amount_fen)).where(ours).group_by(bucket)
        )
    }
    for i, d in enumerate(span):
        if i in per_day:
            n, fen = per_day[i]
            report.campaign_days.append(CampaignDay(d.isoformat(), n, fen, d.isoformat() in days))
    total = sum(d.refunds for d in report.campaign_days)
    covered = sum(d.refunds for d in report.campaign_days if d.in_bill)
    if covered == 0:
        report.warnings.append(
            f"the bill covers none of the campaign's {total} refunds: "
            f"they happened on {', '.join(d.day for d in report.campaign_days)}"
        )
    elif report.missing_days:
        report.warnings.append(
            f"the bill covers {covered} of the campaign's {total} refunds; "
            f"still missing the bills of {', '.join(report.missing_days)}"
        )
