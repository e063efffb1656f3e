from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, IdMixin, str_enum


class StoreInspection(IdMixin, CreatedAtMixin, Base):
    """An in-person visit to a store by the operator's inspector: the checklist as ticked,
    pass or fail, and notes. The 精选 badge needs a passing one younger than the configured
    age (curation/)."""

    __tablename__ = "store_inspections"
    __table_args__ = (Index("ix_store_inspections_store_on", "store_id", "inspected_on"),)

    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id"))
    inspected_on: Mapped[date]
    inspector: Mapped[str] = mapped_column(String(64))  # who visited, as they sign
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON)  # item -> true / false
    passed: Mapped[bool]
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))


class BadgeAction(StrEnum):
    granted = "granted"
    removed = "removed"


class CurationDecision(IdMixin, CreatedAtMixin, Base):
    """Every grant and removal of the 精选 badge, with its reason and the evidence it stood on.
    `decided_by` is NULL when the curation run decided."""

    __tablename__ = "curation_decisions"
    __table_args__ = (Index("ix_curation_decisions_store_created_at", "store_id", "created_at"),)

    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id"))
    action: Mapped[BadgeAction] = mapped_column(str_enum(BadgeAction))
    reason: Mapped[str] = mapped_column(String(32))  # a code the catalog words (curation/)
    score: Mapped[float | None] = mapped_column(Float)
    review_count: Mapped[int] = mapped_column(default=0)
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("store_inspections.id"))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
