"""The channel's payment notification: verified on the raw body, de-duplicated, re-checked.
Every rejection leaves no trace: no payment change, no card, no ledger entry, no event row."""

from __future__ import annotations

import json
from datetime import timedelta

from redcard.models import ChannelEvent, JournalEntry, Membership
from tests.fixtures.factories import assert_ledger_ok, count, idem, login, new_user, setup_plans

NOTIFY = "/api/v1/payments/notify/sandbox"


async def _pending_order(client, db, sandbox):
    plans = await setup_plans(db)
    headers = await login(client, await new_user(db))
    response = await client.post(
        "/api/v1/orders", json={"plan_id": str(plans.annual.id)}, headers=headers | idem()
    )
    assert response.status_code == 201
    out_trade_no = response.json()["pay_url"].split("/sandbox/pay/")[1].split("?")[0]
    await sandbox.pay(out_trade_no)  # the payer paid; the notification is held
    (held,) = sandbox.held
    sandbox.held.clear()
    return headers, response.json()["id"], held.body


async def _nothing_changed(client, db, headers, order_id):
    assert await count(db, Membership) == 0
    assert await count(db, JournalEntry) == 0
    assert await count(db, ChannelEvent) == 0
    order = await client.get(f"/api/v1/orders/{order_id}", headers=headers)
    assert order.json()["status"] == "pending"


async def test_missing_signature_is_rejected(client, db, sandbox):
    headers, order_id, body = await _pending_order(client, db, sandbox)
    response = await client.post(NOTIFY, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"] == "BadSignature"
    await _nothing_changed(client, db, headers, order_id)


async def test_bad_signature_is_rejected(client, db, sandbox):
    headers, order_id, body = await _pending_order(client, db, sandbox)
    signed = sandbox.signed_headers(body)
    tampered = body.replace(b'"amount_fen":16800', b'"amount_fen":16801')
    response = await client.post(NOTIFY, content=tampered, headers=signed)
    assert response.status_code == 401
    forged = signed | {"x-sandbox-signature": "0" * 64}
    response = await client.post(NOTIFY, content=body, headers=forged)
    assert response.status_code == 401
    await _nothing_changed(client, db, headers, order_id)


async def test_stale_timestamp_is_rejected(client, db, sandbox):
    headers, order_id, body = await _pending_order(client, db, sandbox)
    old = sandbox.now() - timedelta(seconds=301)
    response = await client.post(NOTIFY, content=body, headers=sandbox.signed_headers(body, old))
    assert response.status_code == 401
    assert response.json()["error"] == "StaleTimestamp"
    future = sandbox.now() + timedelta(seconds=301)
    response = await client.post(NOTIFY, content=body, headers=sandbox.signed_headers(body, future))
    assert response.status_code == 401
    await _nothing_changed(client, db, headers, order_id)
    # within the window it is accepted
    ok = sandbox.now() - timedelta(seconds=299)
    response = await client.post(NOTIFY, content=body, headers=sandbox.signed_headers(body, ok))
    assert response.status_code == 200
    assert await count(db, Membership) == 1


async def test_replayed_callback_activates_once_and_posts_once(client, db, sandbox):
    headers, order_id, body = await _pending_order(client, db, sandbox)
    first = await client.post(NOTIFY, content=body, headers=sandbox.signed_headers(body))
    assert first.text == "processed"
    for _ in range(3):
        again = await client.post(NOTIFY, content=body, headers=sandbox.signed_headers(body))
        assert again.status_code == 200
        assert again.text == "duplicate"
    # a second, distinct event for the same payment is idempotent too
    other = json.loads(body) | {"event_id": "EVT-SECOND"}
    raw = json.dumps(other).encode()
    assert (await client.post(NOTIFY, content=raw, headers=sandbox.signed_headers(raw))).text == (
        "processed"
    )
    assert await count(db, Membership) == 1
    assert await count(db, JournalEntry) == 1
    await assert_ledger_ok(db)


async def test_amount_mismatch_is_rejected(client, db, sandbox):
    headers, order_id, body = await _pending_order(client, db, sandbox)
    lying = json.loads(body) | {"amount_fen": 1}
    raw = json.dumps(lying).encode()
    response = await client.post(NOTIFY, content=raw, headers=sandbox.signed_headers(raw))
    assert response.status_code == 409
    assert response.json()["error"] == "AmountMismatch"
    await _nothing_changed(client, db, headers, order_id)


async def test_unknown_channel_and_malformed_body(client, db, sandbox):
    response = await client.post("/api/v1/payments/notify/nochannel", content=b"{}")
    assert response.status_code == 404
    body = b"not json"
    response = await client.post(NOTIFY, content=body, headers=sandbox.signed_headers(body))
    assert response.status_code == 401
    assert await count(db, ChannelEvent) == 0
