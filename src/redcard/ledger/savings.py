"""The savings memo: what members saved with the card, funded by merchants.

Every committed redemption (a code at the till or a 买单) posts one memo entry: the member's
savings account is credited and the merchant's `merchant_discounts_funded` account debited by
the discount. An undo posts the same lines reversed as a new entry. A member's savings are the
credit balance of their `member_savings` account, read here and nowhere else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.ledger.accounts import Account
from redcard.ledger.service import Entry, Line
from redcard.models import JournalEntry, JournalLine, LedgerAccount

SAVINGS_KIND = "redemption"  # a committed redemption, whether a till code or a 买单
SAVINGS_UNDO_KIND = "redemption_undo"  # its reversal


class Saving(Protocol):
    """What a savings entry needs of a redemption (an ORM row or the till's plain row)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def member_id(self) -> uuid.UUID: ...
    @property
    def merchant_id(self) -> uuid.UUID: ...
    @property
    def discount_fen(self) -> int: ...


def savings_entry(r: Saving, *, undo: bool = False) -> Entry:
    """The memo entry for a committed redemption, or (undo=True) its reversal."""
    sign = -1 if undo else 1
    return Entry(
        kind=SAVINGS_UNDO_KIND if undo else SAVINGS_KIND,
        ref=str(r.id),
        lines=[
            Line(Account.member_savings, -sign * r.discount_fen, str(r.member_id)),
            Line(Account.merchant_discounts_funded, sign * r.discount_fen, str(r.merchant_id)),
        ],
    )


async def savings_by_member(
    session: AsyncSession, member_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """What each member saved, in fen (0 for a member with no savings yet)."""
    by_key = {str(m): m for m in member_ids}
    if not by_key:
        return {}
    saved = dict.fromkeys(by_key.values(), 0)
    rows = await session.execute(
        select(LedgerAccount.owner_key, LedgerAccount.balance_fen).where(
            LedgerAccount.code == Account.member_savings,
            LedgerAccount.owner_key.in_(list(by_key)),
        )
    )
    for owner, balance_fen in rows:
        saved[by_key[owner]] = -int(balance_fen)  # savings are a credit balance
    return saved


async def savings_fen(session: AsyncSession, member_id: uuid.UUID) -> int:
    """What one member saved, in fen: the number on the savings counter."""
    return (await savings_by_member(session, [member_id]))[member_id]


async def savings_since(session: AsyncSession, member_id: uuid.UUID, since: datetime) -> int:
    """What one member saved from `since` on, in fen: the member's savings lines (redemptions
    less their undos) in entries posted then or later. A card's benefits used are this from
    the card's start, since a member holds one card at a time."""
    saved = await session.scalar(
        select(func.coalesce(func.sum(JournalLine.amount_fen), 0))
        .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(
            LedgerAccount.code == Account.member_savings,
            LedgerAccount.owner_key == str(member_id),
            JournalEntry.posted_at >= since,
        )
    )
    return -int(saved or 0)  # savings are a credit balance
