"""Downloading my data: one zip of JSON and CSV with every row about me (profile, orders,
payments, cards, redemptions, 买单 bills, event registrations, refunds, reviews, messages)
and nothing about anyone else."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from sqlalchemy import select

from redcard.models import (
    EventRegistration,
    Membership,
    Notification,
    Order,
    Payment,
    Redemption,
    Refund,
    StoreReview,
)
from tests.datarights.helpers import Someone
from tests.datarights.test_close import two_members

PARTS = (
    "profile",
    "orders",
    "payments",
    "cards",
    "redemptions",
    "storepay_bills",
    "event_registrations",
    "refunds",
    "reviews",
    "notifications",
)


async def _ids_of(db, who: Someone) -> set[str]:  # type: ignore[no-untyped-def]
    """Every id of a row about `who`, found without the export's own declarations: rows
    whose member column is theirs, and the payments and refunds of their orders."""
    ids = {str(who.user.id)}
    async with db.session_scope() as session:
        for model, column in (
            (Order, Order.member_id),
            (Membership, Membership.member_id),
            (Redemption, Redemption.member_id),
            (EventRegistration, EventRegistration.member_id),
            (StoreReview, StoreReview.member_id),
            (Notification, Notification.user_id),
        ):
            ids |= {
                str(i) for i in await session.scalars(select(model.id).where(column == who.user.id))
            }
        orders = select(Order.id).where(Order.member_id == who.user.id)
        payments = select(Payment.id).where(Payment.order_id.in_(orders))
        ids |= {str(i) for i in await session.scalars(payments)}
        ids |= {
            str(i)
            for i in await session.scalars(select(Refund.id).where(Refund.payment_id.in_(payments)))
        }
    return ids


async def test_export_holds_everything_about_me_and_nothing_about_anyone_else(
    client, db, sandbox, channels
):
    a, b, _ = await two_members(client, db, sandbox, channels)
    response = await client.get("/api/v1/me/export", headers=a.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="redcard-my-data-'
    )
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert names == {"export.json", "README.txt"} | {f"{p}.csv" for p in PARTS}
    document = json.loads(archive.read("export.json"))
    everything = "\n".join(archive.read(n).decode("utf-8") for n in names)

    # everything about 甲: every id of every row, the phone, the name, the review's words
    exported = json.dumps(document, ensure_ascii=False)
    missing = {i for i in await _ids_of(db, a) if i not in exported}
    assert missing == set()
    assert document["profile"] == [
        document["profile"][0] | {"phone": a.phone, "display_name": a.name}
    ]
    assert {p: len(document[p]) > 0 for p in PARTS} == dict.fromkeys(PARTS, True)
    assert len(document["storepay_bills"]) == 2
    assert len(document["redemptions"]) == 1
    assert {r["reason"] for r in document["refunds"]} == {"store_bill_undo"}
    assert a.phone in document["reviews"][0]["body"]
    assert document["reviews"][0]["store"].startswith("小杨生煎")
    assert document["cards"][0]["plan"] == "年卡"
    assert document["event_registrations"][0]["event"] == "会员专属品鉴会"

    # nothing about 乙: no id of theirs, not their phone, not their name
    theirs = await _ids_of(db, b)
    assert [i for i in theirs if i in everything] == []
    assert b.phone not in everything
    assert b.name not in everything

    # each CSV holds its part's rows, with the same columns
    for part in PARTS:
        text = archive.read(f"{part}.csv").decode("utf-8")
        assert text.startswith("\ufeff")  # spreadsheet programs read the Chinese right
        rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
        assert len(rows) == len(document[part])
        if rows:
            assert list(rows[0]) == list(document[part][0])
    assert "orders.csv" in archive.read("README.txt").decode()
