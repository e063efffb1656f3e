"""Program sunset: the campaign, one item per refunded order, and the programme's sales switch."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, Fen, IdMixin, str_enum
from redcard.models.plan import RefundPolicy


class CampaignStatus(StrEnum):
    prepared = "prepared"  # waiting for a second operator
    approved = "approved"  # sales closed; refunds run from the cut-off
    completed = "completed"  # every item settled (refunded or settled offline)
    cancelled = "cancelled"  # dropped before approval


class ItemStatus(StrEnum):
    pending = "pending"  # not written since migration 0012: approval reserves every refund
    requested = "requested"  # a refund row exists (refund_id); its status tells the rest
    skipped = "skipped"  # nothing to refund under the campaign's policy


class SunsetCampaign(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "sunset_campaigns"
    __table_args__ = (
        CheckConstraint("approved_by IS NULL OR approved_by <> prepared_by", name="two_person"),
    )

    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus), default=CampaignStatus.prepared, index=True
    )
    cutoff_at: Mapped[datetime]
    policy: Mapped[RefundPolicy] = mapped_column(str_enum(RefundPolicy))
    notice: Mapped[str] = mapped_column(String(2000))
    prepared_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    items_count: Mapped[int] = mapped_column(default=0)
    total_fen: Mapped[int] = mapped_column(Fen, default=0)
    renewals_cancelled: Mapped[int] = mapped_column(default=0)
    benefits_ended_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class SunsetItem(IdMixin, Base):
    """One paid order of one affected membership, as approval decided it: what to refund and
    the refund it reserved (due at the cut-off), or why nothing is refunded."""

    __tablename__ = "sunset_items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "order_id"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sunset_campaigns.id"))
    # The card, its order and payment, member and plan, as approval found them. Items are only
    # written by approval, from those very rows as it reads them, and none of them is ever
    # deleted, so these columns carry no foreign keys: each key's check locked its parent row,
    # about 15 µs per key per item on a million-card approval (migration 0011).
    membership_id: Mapped[uuid.UUID]
    payment_id: Mapped[uuid.UUID]
    order_id: Mapped[uuid.UUID]
    member_id: Mapped[uuid.UUID]  # no index: only approval's trial-notice anti-join reads it
    plan_id: Mapped[uuid.UUID]
    amount_fen: Mapped[int] = mapped_column(Fen)
    status: Mapped[ItemStatus] = mapped_column(str_enum(ItemStatus), default=ItemStatus.pending)
    manual_reason: Mapped[str | None] = mapped_column(String(200))
    # the refund approval reserved for this item (no foreign key: approval writes both, and
    # refunds are never deleted; migration 0012)
    refund_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)


class ProgramState(Base):
    """A single row (id 1): is the programme selling? Purchases read it FOR SHARE and approval
    updates it, so an activation either commits before approval or sees sales closed."""

    __tablename__ = "program_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    sales_open: Mapped[bool] = mapped_column(default=True)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sunset_campaigns.id"))
    updated_at: Mapped[datetime | None]
