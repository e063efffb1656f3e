"""Members with data in every table a member's rows live in: signed up through the API (the
sign-up's stored response holds the phone), a failed login, an annual card, two 买单 bills
(one undone and refunded), a sale at the till, a review whose text names them, an event
registration and a message."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import LargeBinary, select

from redcard import notifications
from redcard.db import Database
from redcard.models import Base, Event, User
from redcard.payments.channels import Channels
from redcard.payments.sandbox import SandboxChannel
from redcard.storepay.service import undo_bill
from tests.fixtures.factories import (
    PASSWORD,
    Plans,
    Shop,
    buy_card,
    code_for,
    idem,
    login,
    pay_bill,
    phone,
    register,
)


@dataclass
class Someone:
    user: User
    headers: dict[str, str]
    name: str
    phone: str


async def sign_up(client: httpx.AsyncClient, db: Database, name: str) -> Someone:
    number = phone()
    done = await client.post(
        "/api/v1/auth/signup",
        json={"phone": number, "password": PASSWORD, "display_name": name},
        headers=idem(),
    )
    assert done.status_code == 201, done.text
    async with db.session_scope() as session:
        user = await session.get_one(User, uuid.UUID(done.json()["id"]))
    return Someone(user, await login(client, user), name, number)


async def member_with_everything(
    client: httpx.AsyncClient,
    db: Database,
    sandbox: SandboxChannel,
    channels: Channels,
    *,
    plans: Plans,
    shop: Shop,
    event: Event,
    name: str,
) -> Someone:
    who = await sign_up(client, db, name)
    h = who.headers
    wrong = await client.post(
        "/api/v1/auth/login", json={"phone": who.phone, "password": "not-the-password"}
    )
    assert wrong.status_code == 401
    await buy_card(client, sandbox, h, plans.annual.id)
    kept = await pay_bill(client, sandbox, h, shop.store.pay_code, "100.00")
    undone = await pay_bill(client, sandbox, h, shop.store.pay_code, "58.00")
    async with db.session_scope() as session:
        await undo_bill(session, shop.owner, uuid.UUID(str(undone["id"])))
    owner_h = await login(client, shop.owner)
    sale = await client.post(
        "/api/v1/redemptions/prepare",
        json={
            "store_id": str(shop.store.id),
            "code": await code_for(db, who.user),
            "bill_fen": 12850,
        },
        headers=owner_h,
    )
    assert sale.status_code == 201, sale.text
    committed = await client.post(
        f"/api/v1/redemptions/{sale.json()['id']}/commit", headers=owner_h | idem()
    )
    assert committed.status_code == 200, committed.text
    review = await client.post(
        f"/api/v1/stores/{shop.store.id}/reviews",
        json={
            "redemption_id": str(kept["id"]),
            "stars": 4,
            "body": f"我是{name}，生煎很好吃，有事打我电话 {who.phone}",
        },
        headers=h | idem(),
    )
    assert review.status_code == 201, review.text
    await register(db, channels, who.user, event.id)
    async with db.session_scope() as session:
        notifications.enqueue(
            session, who.user.id, "event_reminder", event=event.title, greeting=f"{name}，你好"
        )
    return who


async def every_value(db: Database) -> list[tuple[str, str, str]]:
    """Every value in every column of every table, as text: (table, column, text)."""
    out = []
    async with db.session_scope() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column in table.columns:
                    value: Any = row[column]
                    if value is None:
                        continue
                    if isinstance(column.type, LargeBinary) or isinstance(value, bytes):
                        text = bytes(value).decode("utf-8", "replace")
                    elif isinstance(value, dict | list):
                        text = json.dumps(value, ensure_ascii=False)
                    else:
                        text = str(value)
                    out.append((table.name, column.name, text))
    return out


def found(values: list[tuple[str, str, str]], *needles: str) -> list[tuple[str, str, str]]:
    return [(t, c, v) for t, c, v in values if any(n in v for n in needles)]
