from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum
from redcard.ops.logs import current_request_id


class RefundStatus(StrEnum):
    pending = "pending"  # recorded; not yet accepted by the channel
    processing = "processing"  # the channel accepted it; waiting for its verdict
    succeeded = "succeeded"
    failed = "failed"  # retries exhausted or rejected: in the operator's exceptions queue
    offline = "offline"  # an operator settled it outside the channel, with a reference


class RefundReason(StrEnum):
    """Why a payment is refunded. Members see it on their refunds page (`refund_reason.*`
    in the catalogs: tests/web/test_catalogs.py checks each has a label in both languages)."""

    self_service = "self_service"  # the member gave the card back (cooling-off, policy)
    sales_closed = "sales_closed"  # paid after card sales closed
    duplicate = "duplicate"  # a second payment for a card already active
    sunset = "sunset"  # the programme stopped: every paying member is refunded
    store_bill_undo = "store_bill_undo"  # the store undid a 买单
    event_cancelled = "event_cancelled"  # the organiser cancelled the event
    event_registration_cancelled = "event_registration_cancelled"  # the member cancelled
    event_seat_not_held = "event_seat_not_held"  # paid after the held seat had gone
    hold_lapsed = "hold_lapsed"  # the seat's hold ran out before the payment
    card_ended = "card_ended"  # the card that admitted the member ended
    order_refunded = "order_refunded"  # the seat's order was refunded from elsewhere


class Refund(IdMixin, CreatedAtMixin, Base):
    """One refund of one payment. `out_refund_no` is fixed at creation and reused on every retry,
    so the channel can never refund the same request twice (Alipay out_request_no,
    WeChat Pay out_refund_no)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        # a campaign refunds a payment at most once (0005); also every lookup by payment (0014)
        UniqueConstraint("payment_id", "campaign_id"),
        # the worker's claim of due refunds reads this in order (migration 0005)
        Index(
            "ix_refunds_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status IN ('pending', 'processing')"),
            sqlite_where=text("status IN ('pending', 'processing')"),
        ),
        # a campaign's failed refunds: the exceptions queue, the completion check (0007)
        Index(
            "ix_refunds_failed",
            "campaign_id",
            postgresql_where=text("status = 'failed'"),
            sqlite_where=text("status = 'failed'"),
        ),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"))
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    reason: Mapped[str] = mapped_column(String(32))
    # no index of its own (0007, 0014): a campaign's progress counts all its refunds
    campaign_id: Mapped[uuid.UUID | None]
    # no index of its own: ix_refunds_due and ix_refunds_failed (0007)
    status: Mapped[RefundStatus] = mapped_column(
        str_enum(RefundStatus), default=RefundStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]  # when the worker may take it next (NOT NULL: 0013)
    last_error: Mapped[str | None] = mapped_column(String(500))
    channel_refund_no: Mapped[str | None] = mapped_column(String(64))
    offline_reference: Mapped[str | None] = mapped_column(String(200))
    succeeded_at: Mapped[datetime | None]
    # the journal entries that cover this refund's reservation and its settlement: its own
    # (ref = out_refund_no) or its batch's (payments/refunds/reserve._batch_entries)
    reserve_entry_ref: Mapped[str | None] = mapped_column(String(64))
    settle_entry_ref: Mapped[str | None] = mapped_column(String(64))
    # the request that asked for it (none for a sunset's bulk reservation), for the logs
    request_id: Mapped[str | None] = mapped_column(String(64), default=current_request_id)
