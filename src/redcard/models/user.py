from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, true
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, IdMixin, str_enum


class Role(StrEnum):
    member = "member"
    merchant_staff = "merchant_staff"
    operator = "operator"


class User(IdMixin, CreatedAtMixin, Base):
    """A person who logs in. PIPL: we keep the phone number and what the role needs, no more."""

    __tablename__ = "users"

    role: Mapped[Role] = mapped_column(str_enum(Role), index=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(10))
    closed_at: Mapped[datetime | None]
    # delivery (issue 16): where e-mail goes, and whether marketing messages may
    email: Mapped[str | None] = mapped_column(String(254))
    marketing_messages: Mapped[bool] = mapped_column(default=True, server_default=true())

    @property
    def masked_name(self) -> str:
        """What a till may see: first character and the last 4 digits of the phone."""
        return f"{self.display_name[:1]}** ({self.phone[-4:]})"
