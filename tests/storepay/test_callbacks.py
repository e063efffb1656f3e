"""The 买单 payment callback: bad or missing signature, stale timestamp, replay and amount
mismatch change nothing (no committed bill, no ledger entry); the genuine one commits once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from redcard.kit import time as clock
from redcard.merchants.service import uses_by_store
from redcard.models import ChannelEvent, JournalEntry, RedemptionStatus
from redcard.payments.port import NotificationKind
from redcard.payments.sandbox import HEADER_SIG
from tests.fixtures.factories import (
    count,
    get_redemption,
    login,
    new_card_holder,
    new_shop,
    out_trade_no,
    start_bill,
)

NOTIFY = "/api/v1/payments/notify/sandbox"


@pytest.fixture
async def paid_at_channel(client, db, sandbox):  # type: ignore[no-untyped-def]
    """A bill the member has paid at the channel, whose notification is still held."""
    clock.freeze(clock.utc_now())
    shop = await new_shop(db, discount_bp=1000)
    headers = await login(client, await new_card_holder(db))
    created = await start_bill(client, headers, shop.store.pay_code, "100")
    await sandbox.pay(out_trade_no(str(created["pay_url"])))
    body = sandbox.held.pop().body
    return created, body, shop


async def _nothing_happened(db, created, shop) -> None:  # type: ignore[no-untyped-def]
    assert (await get_redemption(db, created["id"])).status == RedemptionStatus.prepared
    assert await count(db, JournalEntry) == 0
    assert await count(db, ChannelEvent) == 0
    async with db.session_scope() as session:
        assert await uses_by_store(session, [shop.store.id]) == {}


async def test_bad_or_missing_signature_is_refused(client, db, sandbox, paid_at_channel):
    created, body, shop = paid_at_channel
    headers = sandbox.signed_headers(body)
    forged = headers | {HEADER_SIG: "0" * len(headers[HEADER_SIG])}
    response = await client.post(NOTIFY, content=body, headers=forged)
    assert response.status_code == 401
    assert response.json()["error"] == "BadSignature"
    tampered = body.replace(b'"amount_fen":9000', b'"amount_fen":9001')
    response = await client.post(NOTIFY, content=tampered, headers=headers)
    assert response.status_code == 401
    unsigned = await client.post(NOTIFY, content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    await _nothing_happened(db, created, shop)


async def test_a_stale_timestamp_is_refused(client, db, sandbox, paid_at_channel):
    created, body, shop = paid_at_channel
    old = sandbox.signed_headers(body, at=clock.utc_now() - timedelta(seconds=301))
    response = await client.post(NOTIFY, content=body, headers=old)
    assert response.status_code == 401
    assert response.json()["error"] == "StaleTimestamp"
    await _nothing_happened(db, created, shop)


async def test_a_replayed_notification_commits_the_bill_once(client, db, sandbox, paid_at_channel):
    created, body, shop = paid_at_channel
    first = await client.post(NOTIFY, content=body, headers=sandbox.signed_headers(body))
    assert (first.status_code, first.text) == (200, "processed")
    for _ in range(3):
        again = await client.post(NOTIFY, content=body, headers=sandbox.signed_headers(body))
        assert (again.status_code, again.text) == (200, "duplicate")
    assert (await get_redemption(db, created["id"])).status == RedemptionStatus.committed
    async with db.session_scope() as session:
        kinds = dict(
            (
                await session.execute(
                    select(JournalEntry.kind, func.count()).group_by(JournalEntry.kind)
                )
            ).all()
        )
        uses = await uses_by_store(session, [shop.store.id])
    assert kinds == {"payment": 1, "redemption": 1}
    assert uses == {shop.store.id: 1}


async def test_an_amount_mismatch_is_refused(client, db, sandbox, paid_at_channel):
    created, body, shop = paid_at_channel
    note = json.loads(body)
    assert note["amount_fen"] == 9000
    wrong = sandbox.notification_body(
        NotificationKind.payment_succeeded, note["reference"], 10000, note["channel_ref"]
    )
    response = await client.post(NOTIFY, content=wrong, headers=sandbox.signed_headers(wrong))
    assert response.status_code == 409
    assert response.json()["error"] == "AmountMismatch"
    await _nothing_happened(db, created, shop)
