"""Reconciliation against the channel's bill: a clean campaign has no differences; an extra
channel line, a missing line and a changed amount are each classified and pinpointed."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from redcard.kit import time as clock
from redcard.kit.time import today as clock_today
from redcard.kit.time import zone
from redcard.models import Refund
from redcard.sunset import reconcile as rec
from redcard.sunset import service
from tests.fixtures.factories import drain, run_sunset


async def _finished_campaign(client, db, sandbox, settings, channels, world_factory):  # type: ignore[no-untyped-def]
    w = await world_factory(3)
    sunset = await run_sunset(client, w)
    await drain(settings, db, channels, sandbox)
    lines = [line for line in await sandbox.bill(clock_today()) if line.kind == "refund"]
    assert len(lines) == 3
    return w, sunset, lines


async def _reconcile(client, w, sunset, lines) -> dict:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    rec.write_csv(lines, buf)
    response = await client.post(
        f"/api/v1/operator/sunsets/{sunset['id']}/reconcile",
        json={"bill_csv": buf.getvalue()},
        headers=w.approver_h,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_clean_campaign_has_zero_differences(
    client, db, sandbox, settings, channels, world_factory
):
    w, sunset, lines = await _finished_campaign(
        client, db, sandbox, settings, channels, world_factory
    )
    report = await _reconcile(client, w, sunset, lines)
    assert report["counts"] == {"matched": 3}
    assert report["unexplained"] == 0
    assert report["our_refunds"] == 3


async def test_extra_missing_and_changed_lines_are_classified(
    client, db, sandbox, settings, channels, world_factory
):
    w, sunset, lines = await _finished_campaign(
        client, db, sandbox, settings, channels, world_factory
    )
    fields = ("kind", "reference", "out_trade_no", "amount_fen", "channel_ref", "at")

    def copy(line, **changes):  # type: ignore[no-untyped-def]
        values = {f: getattr(line, f) for f in fields} | changes
        return type(line)(**values)

    more = copy(lines[0], amount_fen=lines[0].amount_fen + 100)  # channel shows more: 长款
    less = copy(lines[1], amount_fen=lines[1].amount_fen - 100)  # channel shows less: 短款
    extra = copy(lines[2], reference="R-NOT-OURS", channel_ref="X1")  # channel only: 单边账
    # lines[2] itself is missing from the bill: ours only, 单边账
    report = await _reconcile(client, w, sunset, [more, less, extra])
    assert report["counts"] == {"长款": 1, "短款": 1, "单边账": 2}
    by_ref = {(d["cls"], d["reference"]): d for d in report["differences"]}
    assert by_ref[("长款", lines[0].reference)]["bill_fen"] == lines[0].amount_fen + 100
    assert by_ref[("短款", lines[1].reference)]["ours_fen"] == lines[1].amount_fen
    assert by_ref[("单边账", "R-NOT-OURS")]["note"] == "on the channel's bill only"
    assert by_ref[("单边账", lines[2].reference)]["note"] == "in our records only"
    assert report["unexplained"] == 4


async def test_a_malformed_bill_is_refused(client, db, sandbox, settings, channels, world_factory):
    w = await world_factory(1)
    sunset = await run_sunset(client, w)
    response = await client.post(
        f"/api/v1/operator/sunsets/{sunset['id']}/reconcile",
        json={"bill_csv": "kind,reference\nrefund,R1\n"},
        headers=w.approver_h,
    )
    assert response.status_code == 422
    assert "columns" in response.json()["detail"]


async def _post_bill(client, w, sunset, bill: str):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/v1/operator/sunsets/{sunset['id']}/reconcile",
        json={"bill_csv": bill},
        headers=w.approver_h,
    )


async def test_a_bad_line_is_refused_with_its_number(
    client, db, sandbox, settings, channels, world_factory
):
    """The same checks and messages whichever way the bill is read (COPY on PostgreSQL, line
    by line on SQLite), and nothing is classified."""
    w, sunset, lines = await _finished_campaign(
        client, db, sandbox, settings, channels, world_factory
    )
    buf = io.StringIO()
    rec.write_csv(lines, buf)
    header, *good = buf.getvalue().splitlines()
    ok = good[0].split(",")
    for bad, message in [
        ([*ok[:3], "12.5", *ok[4:]], "bill line 3: bad amount or time"),
        ([*ok[:3], "１２", *ok[4:]], "bill line 3: bad amount or time"),
        ([*ok[:5], "yesterday"], "bill line 3: bad amount or time"),
        ([*ok[:5], "2026-13-01T00:00:00+00:00"], "bill line 3: bad amount or time"),
        ([*ok[:5], "2026-11-25T10"], "bill line 3: bad amount or time"),
        (["rebate", *ok[1:]], "bill line 3: unknown kind or empty reference"),
        ([ok[0], "", *ok[2:]], "bill line 3: unknown kind or empty reference"),
    ]:
        bill = "\n".join([header, good[1], ",".join(bad), good[2]]) + "\n"
        response = await _post_bill(client, w, sunset, bill)
        assert response.status_code == 422, bad
        assert response.json()["detail"] == message
    response = await _post_bill(client, w, sunset, header + ",extra\n" + good[0] + ",1\n")
    assert response.status_code == 422
    assert "once each" in response.json()["detail"]
    # the columns in another order, a time with its zone written out: the same report
    reordered = io.StringIO()
    writer = csv.writer(reordered)
    writer.writerow(list(reversed(rec.CSV_FIELDS)))
    for line in lines:
        at = line.at.astimezone(timezone(timedelta(hours=8))).isoformat()
        writer.writerow(
            [at, line.channel_ref, line.amount_fen, line.out_trade_no, line.reference, "refund"]
        )
    response = await _post_bill(client, w, sunset, reordered.getvalue())
    assert response.status_code == 200, response.text
    assert response.json()["counts"] == {"matched": 3}


async def test_the_bill_file_holds_the_channels_bill_line_for_line(
    client, db, sandbox, settings, channels, world_factory
):
    """`redcard sunset bill` writes the channel's file (COPY on PostgreSQL) or its streamed
    lines (SQLite): either way, the same lines as the channel's bill."""
    await _finished_campaign(client, db, sandbox, settings, channels, world_factory)
    day = clock_today()
    out = io.StringIO()
    n = await rec.write_bill_csv(sandbox, day, out)
    out.seek(0)
    written = sorted(rec.read_csv(out), key=lambda line: line.reference)
    billed = sorted(await sandbox.bill(day), key=lambda line: line.reference)
    assert n == len(billed) == 6  # three payments, three refunds
    assert written == billed


async def test_the_page_and_the_api_reconcile_through_one_call(
    client, db, sandbox, settings, channels, world_factory
):
    """The console fetches the bill from the channel, the API is given it as CSV: both are
    `service.reconcile`, and the same bill gives the same report."""
    w, sunset, lines = await _finished_campaign(
        client, db, sandbox, settings, channels, world_factory
    )
    uploaded = io.StringIO()
    rec.write_csv(lines, uploaded)
    uploaded.seek(0)
    campaign_id = uuid.UUID(str(sunset["id"]))
    async with db.session_scope() as session:
        given = await service.reconcile(session, campaign_id, [uploaded])
        fetched = await service.reconcile(session, campaign_id, channel=sandbox)
    assert fetched.as_dict() == given.as_dict()
    assert fetched.counts == {"matched": 3}
    assert fetched.our_refunds == 3
    assert (await _reconcile(client, w, sunset, lines)) == given.as_dict()


async def test_refunds_across_midnight_reconcile_over_both_days_and_one_day_warns(
    client, db, sandbox, settings, channels, world_factory
):
    """The campaign's refunds happen on two business days of the programme's zone: the bills
    of both reconcile completely; one day's bill alone is a matched bill that still says which
    day is missing; a bill of another day says it covers none of the campaign's refunds."""
    w = await world_factory(2)
    purchase_day = clock_today()
    # 23:50 in Shanghai, the day after the purchases
    local = datetime.combine(purchase_day + timedelta(days=1), time(23, 50), tzinfo=zone())
    clock.freeze(local)
    sunset = await run_sunset(client, w)
    # one refund before midnight, the other after
    await drain(settings, db, channels, sandbox, batch=1, passes=1)
    async with db.session_scope() as session:
        done = await session.scalar(
            select(func.count()).select_from(Refund).where(Refund.status == "succeeded")
        )
    assert done == 1
    clock.freeze(local + timedelta(minutes=20))
    await drain(settings, db, channels, sandbox)
    first, second = local.date(), local.date() + timedelta(days=1)
    bills = {
        day: [x for x in await sandbox.bill(day) if x.kind == "refund"] for day in (first, second)
    }
    assert [len(bills[first]), len(bills[second])] == [1, 1]

    both = await _reconcile(client, w, sunset, bills[first] + bills[second])
    assert both["complete"] is True
    assert both["counts"] == {"matched": 2}
    assert [(d["day"], d["in_bill"]) for d in both["campaign_days"]] == [
        (first.isoformat(), True),
        (second.isoformat(), True),
    ]
    assert both["refunds"]["matched"] == {"lines": 2, "fen": 2 * 16800}
    assert both["payments"] == {}

    one = await _reconcile(client, w, sunset, bills[first])
    assert one["unexplained"] == 0  # what the bill holds matches...
    assert one["complete"] is False  # ...but it is not the whole campaign
    assert one["missing_days"] == [second.isoformat()]
    assert one["warnings"] == [
        f"the bill covers 1 of the campaign's 2 refunds; still missing the bills of {second}"
    ]

    payments_only = [x for x in await sandbox.bill(purchase_day) if x.kind == "payment"]
    other = await _reconcile(client, w, sunset, payments_only)
    assert other["complete"] is False
    assert other["counts"] == {"matched": 2}
    assert other["payments"]["matched"] == {"lines": 2, "fen": 2 * 16800}
    assert other["warnings"][0].startswith("the bill covers none of the campaign's 2 refunds")


async def test_a_time_at_2330_in_shanghai_is_that_days_line_in_the_reconciled_bill(
    client, db, sandbox, settings, channels, world_factory
):
    """A bill line's day is the programme zone's: 23:30 Shanghai (15:30 UTC) is that day's,
    in the checks of the uploaded bill (COPY on PostgreSQL, line by line on SQLite)."""
    w = await world_factory(1)
    local = datetime.combine(clock_today() + timedelta(days=1), time(23, 30), tzinfo=zone())
    clock.freeze(local)
    sunset = await run_sunset(client, w)
    await drain(settings, db, channels, sandbox)
    lines = [x for x in await sandbox.bill(local.date()) if x.kind == "refund"]
    assert len(lines) == 1
    utc_written = await _reconcile(client, w, sunset, lines)  # write_csv writes UTC times
    assert utc_written["bill_days"] == [local.date().isoformat()]
    assert utc_written["complete"] is True
    with clock.in_zone("UTC"):  # the same instant is 15:30 UTC: the same line, the UTC day
        async with db.session_scope() as session:
            buf = io.StringIO()
            rec.write_csv(lines, buf)
            buf.seek(0)
            report = await service.reconcile(session, uuid.UUID(str(sunset["id"])), [buf])
    assert report.bill_days == [local.astimezone(UTC).date().isoformat()]
