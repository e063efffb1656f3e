"""The channel port: what the core may know of any payment channel (sandbox, Alipay,
WeChat Pay v3, Stripe). Every call is keyed by references we choose, so every call can be
retried: `out_trade_no` for a payment, `out_refund_no` for a refund."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, TextIO, runtime_checkable


class ChannelError(Exception):
    """Base of what a channel adapter may raise."""


class ChannelTimeout(ChannelError):
    """No answer. The request may or may not have taken effect: query before deciding."""

    transient = True  # kit/retry: worth another attempt later


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

    async def close(self) -> None:
        """Release what the adapter holds (connections, clients)."""
        ...


# Optional abilities. A channel that has one says so by having its methods; the core asks
# with `isinstance(channel, BulkRefunds)` and falls back on the one-at-a-time port otherwise.


@runtime_checkable
class BulkRefunds(Protocol):
    """Many refunds, and many refund status queries, in one round trip each (the refund worker
    submits and polls thousands at a time)."""

    async def refund_many(
        self, requests: Sequence[RefundRequest]
    ) -> Sequence[RefundAccepted | Exception]:
        """`refund` for each request, in order; a request's ChannelTimeout or ChannelRejected
        is returned in its place, not raised."""
        ...

    async def query_refunds(self, out_refund_nos: Sequence[str]) -> Mapping[str, TradeQuery]:
        """`query_refund` for each number; raises ChannelTimeout for the whole call."""
        ...


@runtime_checkable
class StreamedBill(Protocol):
    """A day's bill in batches, so a million-line day never sits in memory at once."""

    def bill_batches(
        self, day: date, batch: int = ..., kinds: Iterable[str] = ...
    ) -> AsyncIterator[list[BillLine]]: ...


@runtime_checkable
class BillFile(Protocol):
    """A day's bill as the channel's own CSV file, in `BillLine`'s fields (no header)."""

    async def download_bill(self, day: date, out: TextIO, kinds: Iterable[str]) -> int | None:
        """Write the file to `out` and return its line count, or None when the channel has
        no such file today (then use `StreamedBill` or `bill`)."""
        ...


# -- payment mandates (Alipay 周期扣款 / WeChat Pay 委托代扣) -------------------------------------
# The member signs an agreement at the channel once; later charges need no member step. We name
# the agreement (`mandate_no`: Alipay's external_agreement_no, WeChat's contract_code) and each
# charge (`out_trade_no`), so every call can be retried.


class MandateRevoked(ChannelRejected):
    """The mandate was revoked (or never signed): the channel refuses to charge it."""


class MandateStatus(StrEnum):
    pending = "pending"  # sign URL issued, the member has not signed yet
    active = "active"
    revoked = "revoked"
    unknown = "unknown"  # the channel has never heard of this number


@dataclass(frozen=True, slots=True)
class MandateRequest:
    mandate_no: str
    subject: str
    max_amount_fen: int  # the period rule: the most one charge may take
    period_days: int
    notify_url: str
    return_url: str


@dataclass(frozen=True, slots=True)
class MandateCreated:
    sign_url: str


@dataclass(frozen=True, slots=True)
class MandateQuery:
    status: MandateStatus
    channel_ref: str | None = None  # Alipay agreement_no, WeChat contract_id
    signed_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    mandate_no: str
    out_trade_no: str
    amount_fen: int
    subject: str


@runtime_checkable
class Mandates(Protocol):
    """Charging a signed mandate without the member present. `charge_mandate` is idempotent by
    `out_trade_no`: a number already charged is never charged again; the answer is that
    charge as it stands (an adapter whose API reports "already paid" queries the trade). A
    revoked mandate raises MandateRevoked for any new number."""

    async def sign_mandate(self, request: MandateRequest) -> MandateCreated: ...

    async def query_mandate(self, mandate_no: str) -> MandateQuery: ...

    async def charge_mandate(self, request: ChargeRequest) -> TradeQuery:
        """Succeeded or failed (`query_payment` answers for the number afterwards); raises
        ChannelTimeout (query before deciding), MandateRevoked or ChannelRejected."""
        ...

    async def revoke_mandate(self, mandate_no: str) -> None:
        """Idempotent: revoking a revoked or unknown mandate is not an error."""
        ...
