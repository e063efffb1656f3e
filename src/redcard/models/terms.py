from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, IdMixin


class TermsVersion(IdMixin, Base):
    """Written terms, versioned. Published versions never change; each order keeps its version."""

    __tablename__ = "terms_versions"
    __table_args__ = (UniqueConstraint("code", "version"),)

    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime]
