"""Every day is the programme zone's day (REDCARD_TIMEZONE): a 买单 bill paid at 23:30 Shanghai
time (15:30 UTC) is on that Shanghai day in the channel's bill, in the merchant's statement (its
page and its CSV) and in the operator's statements report for the day; one paid at 00:30 is on
the next. Under another zone the same payments fall on that zone's days, so neither UTC days
nor a hard-coded Shanghai would pass."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from redcard.kit import time as clock
from redcard.models import Statement, StatementLine
from redcard.payments.sandbox import SandboxChannel
from redcard.settlement import service as settlement
from redcard.sunset.reconcile import read_csv, write_bill_csv
from tests.fixtures.factories import (
    login,
    new_card_holder,
    new_shop,
    new_user,
    out_trade_no,
    pay_bill,
)

HTML = {"accept": "text/html"}
NOV20, NOV21 = date(2026, 11, 20), date(2026, 11, 21)
PAID_AT = {
    "late": datetime(2026, 11, 20, 15, 30, tzinfo=UTC),  # 23:30 in Shanghai, 00:30 in Tokyo
    "after_midnight": datetime(2026, 11, 20, 16, 30, tzinfo=UTC),  # 00:30 / 01:30
}


async def _bill_references(sandbox: SandboxChannel, day: date) -> set[str]:
    """The payments on the channel's bill for `day`, downloaded as reconciliation does."""
    out = io.StringIO()
    await write_bill_csv(sandbox, day, out)
    out.seek(0)
    return {line.reference for line in read_csv(out) if line.kind == "payment"}


@pytest.mark.parametrize(
    ("zone", "label", "days", "shown"),
    [
        ("Asia/Shanghai", "UTC+8", {"late": NOV20, "after_midnight": NOV21}, "2026-11-20 23:30"),
        ("Asia/Tokyo", "UTC+9", {"late": NOV21, "after_midnight": NOV21}, "2026-11-21 00:30"),
    ],
)
async def test_a_payment_is_on_the_programme_zones_day_in_the_bill_the_statement_and_the_report(
    client, db, sandbox, zone, label, days, shown
) -> None:  # type: ignore[no-untyped-def]
    with clock.in_zone(zone):
        clock.freeze(PAID_AT["late"] - timedelta(hours=3))
        shop = await new_shop(db, name="夜宵铺")
        member = await login(client, await new_card_holder(db))
        paid: dict[str, str] = {}
        for name, at in PAID_AT.items():
            clock.freeze(at)
            bill = await pay_bill(client, sandbox, member, shop.store.pay_code, "100")
            paid[name] = out_trade_no(str(bill["pay_url"]))
        clock.freeze(datetime(2026, 11, 23, 12, tzinfo=UTC))  # both days are over everywhere

        # the channel's bill
        on_bill = {day: await _bill_references(sandbox, day) for day in (NOV20, NOV21)}
        assert on_bill == {
            day: {paid[name] for name, d in days.items() if d == day} for day in (NOV20, NOV21)
        }

        # the statements
        async with db.session_scope() as session:
            for day in (NOV20, NOV21):
                await settlement.settle_day(session, day)
            line_days = dict(
                (
                    await session.execute(
                        select(StatementLine.reference, Statement.day).join(
                            Statement, Statement.id == StatementLine.statement_id
                        )
                    )
                ).all()
            )
            statements = {s.day: s for s in await session.scalars(select(Statement))}
            late = statements[days["late"]]
            exported = await settlement.statement_csv(session, late)
        assert line_days == {paid[name]: day for name, day in days.items()}
        assert set(statements) == set(days.values())
        late_in_zone = PAID_AT["late"].astimezone(clock.zone())
        assert late_in_zone.isoformat(sep=" ") in exported  # its time, with its offset

        # the merchant's statements, and the operator's report of the day
        owner = await login(client, shop.owner)
        listing = await client.get("/merchant/statements", headers=HTML | owner)
        assert f"01:00（{label}）" in listing.text
        page = await client.get(f"/merchant/statements/{late.id}", headers=HTML | owner)
        assert f"日期和时间均按 {label} 计" in page.text
        assert shown in page.text
        operator = await login(client, await new_user(db, role="operator", name="运营"))
        for day in (NOV20, NOV21):
            report = await client.get(f"/operator/statements?day={day}", headers=HTML | operator)
            listed = [s for s in statements.values() if f'data-statement="{s.id}"' in report.text]
            assert [s.day for s in listed] == ([day] if day in statements else [])
