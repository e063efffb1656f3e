from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, IdMixin


class Terminal(IdMixin, CreatedAtMixin, Base):
    """A till: a POS integration with its own API key (stored as SHA-256), rate-limited."""

    __tablename__ = "terminals"

    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    locked_until: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
