"""The order kinds payments serves. Each kind brings an `OrderHandler` saying which account its
payments credit and what happens when one of its orders is paid or refunded, so payments
knows nothing about memberships, 买单 or events.

The kinds are registered once at start-up (`redcard.order_kinds.register_all`, from the app,
the worker and the CLI), never as a side effect of importing the module that owns them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from redcard.ledger import service as ledger
from redcard.models import Order


@dataclass(frozen=True)
class OrderHandler:
    credit_account: str
    on_paid: Callable[[AsyncSession, Order], Awaitable[None]]
    on_refunded: Callable[[AsyncSession, Order], Awaitable[None]]
    # the owner of the credited account (e.g. the merchant a 买单 is collected for); "" if none
    credit_owner: Callable[[AsyncSession, Order], Awaitable[str]] | None = None
    # optional bulk form of on_refunded, given the orders' ids (the refund worker settles
    # thousands at a time)
    on_refunded_many: Callable[[AsyncSession, Sequence[uuid.UUID]], Awaitable[None]] | None = None


class UnregisteredOrderKind(LookupError):
    """No handler for an order's kind: the process started without registering it."""


_handlers: dict[str, OrderHandler] = {}


def register_order_kind(kind: str, handler: OrderHandler) -> None:
    """Give `kind` its handler. Registering the same handler again is a no-op (start-up may run
    more than once in a process); a different one for a registered kind is a bug."""
    known = _handlers.get(kind)
    if known is not None and known != handler:
        raise ValueError(f"order kind '{kind}' already has another handler")
    _handlers[kind] = handler


def registered_kinds() -> frozenset[str]:
    return frozenset(_handlers)


def handler_for(order: Order) -> OrderHandler:
    try:
        return _handlers[order.kind]
    except KeyError:
        raise UnregisteredOrderKind(
            f"no handler for order kind '{order.kind}': register the order kinds at start-up "
            "(redcard.order_kinds.register_all)"
        ) from None


async def credit_line(session: AsyncSession, order: Order, amount_fen: int) -> ledger.Line:
    """The order kind's side of a payment (negative) or refund (positive) posting."""
    handler = handler_for(order)
    owner = await handler.credit_owner(session, order) if handler.credit_owner else ""
    return ledger.Line(handler.credit_account, amount_fen, owner)
