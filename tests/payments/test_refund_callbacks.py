"""The refund callback the campaign relies on: signature, replay, stale timestamp, amount."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from redcard.kit.time import utc_now
from redcard.models import JournalEntry, Refund, RefundStatus
from redcard.payments.port import NotificationKind
from tests.fixtures.factories import idem

NOTIFY = "/api/v1/payments/notify/sandbox"


async def _pending_refund(client, db, world_factory):  # type: ignore[no-untyped-def]
    w = await world_factory(1)
    made = await client.post("/api/v1/refunds", headers=w.member_h[0] | idem())
    assert made.status_code == 201, made.text
    async with db.session_scope() as session:
        refund = await session.scalar(select(Refund))
        assert refund is not None
        return refund


async def _state(db) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        status = await session.scalar(select(Refund.status))
        settled = await session.scalar(select(func.count()).where(JournalEntry.kind == "refund"))
        return str(status), int(settled or 0)


async def test_bad_signature_is_refused(client, db, sandbox, world_factory):
    refund = await _pending_refund(client, db, world_factory)
    body = sandbox.notification_body(
        NotificationKind.refund_succeeded, refund.out_refund_no, refund.amount_fen, "SBR1"
    )
    headers = sandbox.signed_headers(body)
    headers["x-sandbox-signature"] = "0" * 64
    response = await client.post(NOTIFY, content=body, headers=headers)
    assert response.status_code == 401
    assert await _state(db) == (RefundStatus.pending, 0)
    unsigned = await client.post(NOTIFY, content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    assert await _state(db) == (RefundStatus.pending, 0)


async def test_replayed_callback_settles_once(client, db, sandbox, world_factory):
    refund = await _pending_refund(client, db, world_factory)
    body = sandbox.notification_body(
        NotificationKind.refund_succeeded, refund.out_refund_no, refund.amount_fen, "SBR1"
    )
    headers = sandbox.signed_headers(body)
    first = await client.post(NOTIFY, content=body, headers=headers)
    again = await client.post(NOTIFY, content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert again.status_code == 200
    assert await _state(db) == (RefundStatus.succeeded, 1)


async def test_stale_timestamp_is_refused(client, db, sandbox, world_factory):
    refund = await _pending_refund(client, db, world_factory)
    body = sandbox.notification_body(
        NotificationKind.refund_succeeded, refund.out_refund_no, refund.amount_fen, "SBR1"
    )
    headers = sandbox.signed_headers(body, at=utc_now() - timedelta(seconds=301))
    response = await client.post(NOTIFY, content=body, headers=headers)
    assert response.status_code == 401
    assert await _state(db) == (RefundStatus.pending, 0)


async def test_amount_mismatch_is_refused(client, db, sandbox, world_factory):
    refund = await _pending_refund(client, db, world_factory)
    body = sandbox.notification_body(
        NotificationKind.refund_succeeded, refund.out_refund_no, refund.amount_fen + 1, "SBR1"
    )
    response = await client.post(NOTIFY, content=body, headers=sandbox.signed_headers(body))
    assert response.status_code == 409
    assert response.json()["error"] == "AmountMismatch"
    assert await _state(db) == (RefundStatus.pending, 0)
