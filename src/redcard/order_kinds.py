"""Start-up: give payments a handler for every order kind. Called by `create_app`, the worker
and the `redcard` command before anything is paid or refunded; calling it again is harmless.

It lives above `payments/` and the capabilities that own the kinds, so that payments never
imports them.
"""

from __future__ import annotations

from redcard.events import service as events
from redcard.membership import service as membership
from redcard.models import OrderKind
from redcard.payments.orders import register_order_kind, registered_kinds
from redcard.storepay import service as storepay


def register_all() -> None:
    register_order_kind(OrderKind.membership, membership.ORDER_HANDLER)
    register_order_kind(OrderKind.store_bill, storepay.ORDER_HANDLER)
    register_order_kind(OrderKind.event, events.ORDER_HANDLER)
    missing = set(OrderKind) - registered_kinds()
    if missing:  # a new kind must be added here, or its payments could never be confirmed
        raise RuntimeError(f"order kinds without a handler: {sorted(missing)}")
