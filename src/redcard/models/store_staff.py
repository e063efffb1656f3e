from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, IdMixin


class StoreStaff(IdMixin, Base):
    """Which stores a merchant_staff user may work at."""

    __tablename__ = "store_staff"
    __table_args__ = (UniqueConstraint("user_id", "store_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stores.id"), index=True)
