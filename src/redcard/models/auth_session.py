from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, CreatedAtMixin, IdMixin, str_enum


class SessionKind(StrEnum):
    web = "web"
    api = "api"


class AuthSession(IdMixin, CreatedAtMixin, Base):
    """A login: a browser cookie or an API bearer token. Only the token's hash is stored."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[SessionKind] = mapped_column(str_enum(SessionKind))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
