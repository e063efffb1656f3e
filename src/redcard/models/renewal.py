from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum


class MandateState(StrEnum):
    pending = "pending"  # the member has the channel's signing page, not signed yet
    active = "active"
    revoked = "revoked"


class PaymentMandate(IdMixin, CreatedAtMixin, Base):
    """A member's standing agreement with a channel to be charged for renewals (Alipay 周期扣款,
    WeChat Pay 委托代扣). `mandate_no` is ours; the channel's own number comes back signed."""

    __tablename__ = "payment_mandates"
    __table_args__ = (
        # the worker's pass over revocations the channel has not confirmed: a few rows
        Index(
            "ix_payment_mandates_revoke_pending",
            "id",
            postgresql_where=text("revoke_pending"),
            sqlite_where=text("revoke_pending"),
        ),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    mandate_no: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[MandateState] = mapped_column(str_enum(MandateState))
    channel_ref: Mapped[str | None] = mapped_column(String(64))
    sign_url: Mapped[str | None] = mapped_column(String(500))
    signed_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # revoked on our side but the channel has not confirmed yet (the worker asks again)
    revoke_pending: Mapped[bool] = mapped_column(default=False)


class RenewalStatus(StrEnum):
    noticed = "noticed"  # the 5-day notice is out; charged when due
    retrying = "retrying"  # a charge failed; the next attempt is due at `due_at`
    renewed = "renewed"
    lapsed = "lapsed"  # every attempt failed
    cancelled = "cancelled"  # not charged: auto-renew off, plan retired, card ended, ... (reason)


class Renewal(IdMixin, CreatedAtMixin, Base):
    """One card period's renewal: at most one per card and period (the unique constraint), from
    the notice to its outcome. `charge_no` is the current attempt's out_trade_no, written before
    the channel hears of it; a failed attempt gets a new one."""

    __tablename__ = "renewals"
    __table_args__ = (
        UniqueConstraint("membership_id", "period_starts_at", name="uq_renewals_period"),
        Index("ix_renewals_status_due_at", "status", "due_at"),
    )

    membership_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("memberships.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    mandate_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payment_mandates.id"))
    period_starts_at: Mapped[datetime]  # the old card's end: the new period starts here
    price_fen: Mapped[int] = mapped_column(Fen)  # the amount the notice told the member
    noticed_at: Mapped[datetime]
    due_at: Mapped[datetime]
    status: Mapped[RenewalStatus] = mapped_column(str_enum(RenewalStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    charge_no: Mapped[str] = mapped_column(String(64), unique=True)
    in_doubt: Mapped[bool] = mapped_column(default=False)  # the channel has not answered yet
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
    finished_at: Mapped[datetime | None]


class RenewalAttempt(IdMixin, CreatedAtMixin, Base):
    """One finished charge attempt of a renewal, by its own charge number."""

    __tablename__ = "renewal_attempts"

    renewal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("renewals.id"), index=True)
    charge_no: Mapped[str] = mapped_column(String(64), unique=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
    succeeded: Mapped[bool]
    error: Mapped[str | None] = mapped_column(String(200))
