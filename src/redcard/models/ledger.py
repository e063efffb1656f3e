from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from redcard.models.base import Base, Fen, IdMixin


class LedgerAccount(IdMixin, Base):
    """An account such as `channel_clearing` or (`member_savings`, member id).

    `balance_fen` is maintained with each posting; `redcard ledger check` proves it equals the
    sum of the account's lines. Debits are positive, credits negative."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("code", "owner_key"),)

    code: Mapped[str] = mapped_column(String(48))
    owner_key: Mapped[str] = mapped_column(String(40), default="")
    balance_fen: Mapped[int] = mapped_column(Fen, default=0)


class JournalEntry(IdMixin, Base):
    """A balanced, append-only entry. (kind, ref) is unique: one event posts once."""

    __tablename__ = "journal_entries"
    __table_args__ = (UniqueConstraint("kind", "ref"),)

    kind: Mapped[str] = mapped_column(String(48))
    ref: Mapped[str] = mapped_column(String(80))
    memo: Mapped[str | None] = mapped_column(String(200))
    posted_at: Mapped[datetime]


class JournalLine(IdMixin, Base):
    __tablename__ = "journal_lines"

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Fen)
