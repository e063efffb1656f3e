from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, IdMixin


class LoginAttempt(IdMixin, Base):
    """Failed logins, counted per phone and per IP to rate-limit guessing."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_phone_at", "phone", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    phone: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
