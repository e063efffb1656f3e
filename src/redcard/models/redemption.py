from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, Fen, IdMixin, str_enum

# Staff may undo a committed redemption (a code or a 买单) this long after it, and only
# before its day is settled; settlement therefore waits this long after each day ends.
UNDO_WINDOW = timedelta(hours=1)


class RedemptionKind(StrEnum):
    code = "code"  # member shows the rotating code at the till; pays the store directly
    pay = "pay"  # 持卡买单: member pays the discounted bill through the platform


class RedemptionStatus(StrEnum):
    prepared = "prepared"  # previewed at the till, nothing burned yet
    committed = "committed"
    undone = "undone"
    expired = "expired"  # prepared but never committed


class Redemption(IdMixin, Base):
    """One use of the card at a store. The discount is computed on the server from the
    store's terms: discount + charged = bill, always."""

    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint("bill_fen >= 0", name="bill_not_negative"),
        CheckConstraint("discount_fen >= 0 AND discount_fen <= bill_fen", name="discount_range"),
        CheckConstraint("charged_fen = bill_fen - discount_fen", name="charged_is_rest"),
        CheckConstraint(
            "excluded_fen >= 0 AND excluded_fen <= bill_fen", name="excluded_within_bill"
        ),
        Index("ix_redemptions_store_committed_at", "store_id", "committed_at"),
        Index("ix_redemptions_member_committed_at", "member_id", "committed_at"),
    )

    kind: Mapped[RedemptionKind] = mapped_column(str_enum(RedemptionKind))
    status: Mapped[RedemptionStatus] = mapped_column(str_enum(RedemptionStatus))
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id"))
    merchant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("merchants.id"), index=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    membership_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("memberships.id"))
    terminal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("terminals.id"))
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    code_step: Mapped[int | None]  # TOTP time step of the code used (code kind)
    bill_fen: Mapped[int] = mapped_column(Fen)
    # the part of the bill in the store's excluded categories (e.g. 烟酒): no discount on it
    excluded_fen: Mapped[int] = mapped_column(Fen, default=0, server_default="0")
    discount_fen: Mapped[int] = mapped_column(Fen)
    charged_fen: Mapped[int] = mapped_column(Fen)
    prepared_at: Mapped[datetime]
    committed_at: Mapped[datetime | None]
    undone_at: Mapped[datetime | None]
    statement_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # set when settled


class CodeBurn(IdMixin, Base):
    """A member code that has been used: (member, step) is unique, so a code commits once,
    at one store, whatever races."""

    __tablename__ = "code_burns"
    __table_args__ = (UniqueConstraint("member_id", "step"),)

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    step: Mapped[int]
    redemption_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("redemptions.id"), unique=True)
    burned_at: Mapped[datetime]
