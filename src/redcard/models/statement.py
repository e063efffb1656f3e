from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum


class StatementStatus(StrEnum):
    open = "open"  # owed to the merchant, not yet paid out
    paid_out = "paid_out"


class Statement(IdMixin, CreatedAtMixin, Base):
    """One merchant's settlement for one business day (the programme's time zone): its 买单
    bills, the member discounts, fees, undone items and clawbacks. Every figure is backed by
    ledger entries (see settlement.service.ledger_figures)."""

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("merchant_id", "day"),
        CheckConstraint("charged_fen = gross_fen - discount_fen", name="charged_is_rest"),
        CheckConstraint(
            "net_payable_fen = charged_fen - fee_fen - commission_fen - clawback_fen",
            name="net_is_rest",
        ),
    )

    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("merchants.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[StatementStatus] = mapped_column(
        str_enum(StatementStatus), default=StatementStatus.open
    )
    bills_count: Mapped[int]
    gross_fen: Mapped[int] = mapped_column(Fen)  # the bills as rung up, before discounts
    discount_fen: Mapped[int] = mapped_column(Fen)  # member discounts, funded by the merchant
    charged_fen: Mapped[int] = mapped_column(Fen)  # collected from members for the merchant
    sales_before_fen: Mapped[int] = mapped_column(Fen)  # cumulative 买单 sales before this day
    fee_fen: Mapped[int] = mapped_column(Fen)  # payment fee (tiered at the threshold)
    commission_fen: Mapped[int] = mapped_column(Fen)
    undone_count: Mapped[int]
    undone_fen: Mapped[int] = mapped_column(Fen)  # refunded before settlement: no effect on net
    clawback_count: Mapped[int]
    clawback_fen: Mapped[int] = mapped_column(Fen)  # refunded after an earlier settlement
    net_payable_fen: Mapped[int] = mapped_column(Fen)
    paid_out_at: Mapped[datetime | None]
    paid_out_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class StatementLineKind(StrEnum):
    bill = "bill"  # a 买单 paid through the platform
    undone = "undone"  # a 买单 refunded before settlement
    clawback = "clawback"  # a 买单 refunded after an earlier statement settled it
    code = "code"  # a till redemption: the member paid the store directly (information only)


class StatementLine(IdMixin, Base):
    """One redemption on a statement. (redemption, kind) is unique: a bill is settled once and
    clawed back at most once."""

    __tablename__ = "statement_lines"
    __table_args__ = (UniqueConstraint("redemption_id", "kind"),)

    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("statements.id"), index=True)
    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redemptions.id"))
    kind: Mapped[StatementLineKind] = mapped_column(str_enum(StatementLineKind))
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id"))
    at: Mapped[datetime]  # committed_at for bills, undone_at for undone items and clawbacks
    bill_fen: Mapped[int] = mapped_column(Fen)
    discount_fen: Mapped[int] = mapped_column(Fen)
    charged_fen: Mapped[int] = mapped_column(Fen)
    reference: Mapped[str] = mapped_column(String(64))  # the payment's out_trade_no
