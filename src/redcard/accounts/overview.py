"""What a member's 我的 tab lists: their orders, each with what it bought (the card's plan,
the store of a 买单 bill, the event of a ticket), newest first. Read-only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.models import (
    Event,
    EventRegistration,
    Order,
    OrderKind,
    Plan,
    Redemption,
    Store,
)

RECENT_ORDERS = 50


@dataclass(frozen=True)
class OrderLine:
    order: Order
    name: str  # what it bought: the plan, store or event; "" when it no longer points at one
    href: str | None  # the member's page for it: the order, the bill's receipt, the event
    name_en: str | None = None  # a plan's English name, if the operator gave one


async def recent_orders(
    session: AsyncSession, member_id: uuid.UUID, limit: int = RECENT_ORDERS
) -> list[OrderLine]:
    rows = await session.execute(
        select(Order, Plan.name, Plan.name_en, Store.name, Event.title, Event.id)
        .outerjoin(Plan, Plan.id == Order.plan_id)
        .outerjoin(Redemption, Redemption.order_id == Order.id)
        .outerjoin(Store, Store.id == Redemption.store_id)
        .outerjoin(EventRegistration, EventRegistration.order_id == Order.id)
        .outerjoin(Event, Event.id == EventRegistration.event_id)
        .where(Order.member_id == member_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
    )
    return [_line(*row) for row in rows.all()]


def _line(
    order: Order,
    plan: str | None,
    plan_en: str | None,
    store: str | None,
    event: str | None,
    event_id: uuid.UUID | None,
) -> OrderLine:
    if order.kind == OrderKind.store_bill:
        return OrderLine(order, store or "", f"/pay/bills/{order.id}")
    if order.kind == OrderKind.event:
        return OrderLine(order, event or "", f"/events/{event_id}" if event_id else None)
    return OrderLine(order, plan or "", f"/orders/{order.id}", plan_en)
