from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, IdMixin


class MemberCode(CreatedAtMixin, Base):
    """A member's code secret. `handle` is a random public number (not the member id) that,
    disguised per time step, leads the till's code to this row without scanning members."""

    __tablename__ = "member_codes"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    handle: Mapped[int] = mapped_column(unique=True)
    secret: Mapped[str] = mapped_column(String(64))  # hex, 32 random bytes


class CodeFailure(IdMixin, Base):
    """One rejected code check at a till (wrong, expired or used code). Only failures are
    recorded, so the happy path never counts anything."""

    __tablename__ = "code_failures"
    __table_args__ = (
        Index("ix_code_failures_till_key_failed_at", "till_key", "failed_at"),
        Index("ix_code_failures_store_id_failed_at", "store_id", "failed_at"),
        Index("ix_code_failures_ip_failed_at", "ip", "failed_at"),
    )

    till_key: Mapped[str] = mapped_column(String(64))  # terminal:<id> or staff:<id>
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id"))
    ip: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime]


class CodeLock(Base):
    """A till, store or IP locked out of code checks until `locked_until` (limit crossed)."""

    __tablename__ = "code_locks"

    scope_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    locked_until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200))
