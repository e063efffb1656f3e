"""Logs are JSON lines with request ids, and carry no personal data: a full scenario
(sign-in, purchase, the till, a refund, a sunset) is logged at DEBUG and every line scanned."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import pytest

from redcard.models import Refund
from redcard.ops.logs import configure_logging, mask_text
from tests.fixtures.factories import (
    code_for,
    drain,
    make_world,
    new_card_holder,
    new_till_shop,
    run_sunset,
    till,
)

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging(level="DEBUG", json=True, stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_masking_keeps_what_an_operator_needs() -> None:
    assert mask_text("member 13912345678 paid") == "member 139****5678 paid"
    assert mask_text("Authorization: Bearer abc.def-123") == "Authorization: *** ***"
    assert mask_text("sent Bearer abc.def-123 upstream") == "sent Bearer *** upstream"
    assert mask_text('{"api_key": "k-9f8e", "order": 42}') == '{"api_key": "***", "order": 42}'
    assert mask_text("out_trade_no=RC2026120100001") == "out_trade_no=RC2026120100001"


async def test_a_full_scenario_logs_no_phone_token_or_key(  # type: ignore[no-untyped-def]
    log_lines, client, db, sandbox, channels, settings
) -> None:
    world = await make_world(client, db, sandbox, paying=2)
    shop = await new_till_shop(db, discount_bp=1000)
    holder = await new_card_holder(db)
    secrets = {settings.secret_key, settings.sandbox_secret, shop.terminal_key}
    secrets |= {h["Authorization"].split()[1] for h in world.member_h + [world.preparer_h]}
    phones = {m.phone for m in [*world.members, world.preparer, world.approver, holder]}

    preview = await client.post(
        "/api/v1/redemptions/prepare",
        json={"code": await code_for(db, holder), "bill_yuan": "80"},
        headers=till(shop) | {"X-Request-ID": "till-scan-1"},
    )
    assert preview.status_code == 201
    logging.getLogger("redcard.test").info(
        "a careless line", extra={"phone": holder.phone, "token": "secret-token-value"}
    )
    logging.getLogger("redcard.test").warning("login failed for %s", holder.phone)
    refund = await client.post(
        "/api/v1/refunds", headers=world.member_h[0] | {"Idempotency-Key": "scan-refund-1"}
    )
    assert refund.status_code in (201, 409), refund.text
    await run_sunset(client, world)
    await drain(settings, db, channels, sandbox)

    text = log_lines.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) > 5  # the scenario did log: notifications, the worker, the careless lines
    assert all({"timestamp", "level", "event"} <= set(line) for line in lines)
    careless = [line for line in lines if line.get("logger") == "redcard.test"]
    assert careless[0]["phone"] == "***"
    assert careless[0]["token"] == "***"
    assert careless[1]["event"] == f"login failed for {holder.phone[:3]}****{holder.phone[-4:]}"
    for phone in phones:
        assert phone not in text
    for secret in secrets:
        assert secret not in text
    assert not PHONE.search(text)


async def test_the_request_id_travels_with_the_jobs_it_enqueues(  # type: ignore[no-untyped-def]
    client, db, sandbox
) -> None:
    world = await make_world(client, db, sandbox, paying=1)
    asked = await client.post(
        "/api/v1/refunds",
        headers=world.member_h[0] | {"Idempotency-Key": "rid-refund-1", "X-Request-ID": "rid-77"},
    )
    assert asked.status_code == 201, asked.text
    assert asked.headers["x-request-id"] == "rid-77"
    async with db.session_scope() as session:
        refund = await session.get_one(Refund, uuid.UUID(asked.json()["id"]))
    assert refund.request_id == "rid-77"
