"""The channel port: what the core may know of any payment channel (sandbox, Alipay,
WeChat Pay v3, Stripe). Every call is keyed by references we choose, so every call can be
retried: `out_trade_no` for a payment, `out_refund_no` for a refund."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol


class ChannelError(Exception):
    """Base of what a channel adapter may raise."""


class ChannelTimeout(ChannelError):
    """No answer. The request may or may not have taken effect: query before deciding."""


class ChannelRejected(ChannelError):
    """A definitive no (e.g. refund window closed, insufficient balance)."""


class InvalidNotification(ChannelError):
    """Signature missing or wrong, or the body is not a notification."""


class StaleNotification(InvalidNotification):
    """The notification's timestamp is too far from our clock (replay protection)."""


class TradeStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    unknown = "unknown"  # the channel has never heard of this reference


class NotificationKind(StrEnum):
    payment_succeeded = "payment.succeeded"
    refund_succeeded = "refund.succeeded"
    refund_failed = "refund.failed"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    out_trade_no: str
    amount_fen: int
    subject: str
    notify_url: str
    return_url: str


@dataclass(frozen=True, slots=True)
class PaymentCreated:
    pay_url: str


@dataclass(frozen=True, slots=True)
class TradeQuery:
    status: TradeStatus
    amount_fen: int
    channel_ref: str | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    out_trade_no: str
    out_refund_no: str
    amount_fen: int
    reason: str
    notify_url: str


@dataclass(frozen=True, slots=True)
class RefundAccepted:
    """The channel took the request. Accepted never means succeeded."""

    channel_ref: str


@dataclass(frozen=True, slots=True)
class Notification:
    event_id: str
    kind: NotificationKind
    reference: str  # out_trade_no or out_refund_no
    amount_fen: int
    channel_ref: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class BillLine:
    """One line of the channel's daily bill."""

    kind: str  # "payment" | "refund"
    reference: str  # out_trade_no or out_refund_no
    out_trade_no: str
    amount_fen: int
    channel_ref: str
    at: datetime


class PaymentChannel(Protocol):
    name: str

    async def create_payment(self, request: PaymentRequest) -> PaymentCreated: ...

    async def query_payment(self, out_trade_no: str) -> TradeQuery: ...

    async def refund(self, request: RefundRequest) -> RefundAccepted: ...

    async def query_refund(self, out_refund_no: str) -> TradeQuery: ...

    def verify_notification(self, headers: Mapping[str, str], raw_body: bytes) -> Notification:
        """Check the signature over the raw body and the timestamp; raise or return."""
        ...

    async def bill(self, day: date) -> Sequence[BillLine]: ...
