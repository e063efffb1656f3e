"""The savings memo: what members saved with the card, funded by merchants.

Every committed redemption (a code at the till or a 买单) posts one memo entry: the member's
savings account is credited and the merchant's `merchant_discounts_funded` account debited by
the discount. An undo posts the same lines reversed as a new entry. A member's savings are the
credit balance of their `member_savings` account, read here and nowhere else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.ledger.accounts import Account
from redcard.ledger.service import Entry, Line
from redcard.models import JournalEntry, JournalLine, LedgerAccount, Redemption, Store

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


def savings_entry(r: Saving, *, undo: bool = False, holder_id: uuid.UUID | None = None) -> Entry:
    """The memo entry for a committed redemption, or (undo=True) its reversal.

    Savings belong to the card: they are booked to the card's holder, `holder_id`, which is
    not the redemption's member when a household companion used the card (their use counts
    toward the primary's savings). None: the member is the holder."""
    sign = -1 if undo else 1
    saver = r.member_id if holder_id is None else holder_id
    return Entry(
        kind=SAVINGS_UNDO_KIND if undo else SAVINGS_KIND,
        ref=str(r.id),
        lines=[
            Line(Account.member_savings, -sign * r.discount_fen, str(saver)),
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


async def savings_since_by_member(
    session: AsyncSession, member_ids: Iterable[uuid.UUID], since: datetime
) -> dict[uuid.UUID, int]:
    """What each member saved from `since` on, in fen: their savings lines (redemptions less
    their undos) in entries posted then or later; 0 for a member with none."""
    by_key = {str(m): m for m in member_ids}
    saved = dict.fromkeys(by_key.values(), 0)
    if not by_key:
        return saved
    rows = await session.execute(
        select(LedgerAccount.owner_key, func.sum(JournalLine.amount_fen))
        .join(JournalLine, JournalLine.account_id == LedgerAccount.id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(
            LedgerAccount.code == Account.member_savings,
            LedgerAccount.owner_key.in_(list(by_key)),
            JournalEntry.posted_at >= since,
        )
        .group_by(LedgerAccount.owner_key)
    )
    for owner, total in rows:
        saved[by_key[owner]] = -int(total or 0)  # savings are a credit balance
    return saved


async def savings_since(session: AsyncSession, member_id: uuid.UUID, since: datetime) -> int:
    """What one member saved from `since` on, in fen. A card's benefits used are this from
    the card's start, since a member holds one card at a time."""
    return (await savings_since_by_member(session, [member_id], since))[member_id]


BATCH = 1000  # members whose lines are read per statement


async def saving_lines_between(
    session: AsyncSession, since: dict[uuid.UUID, datetime], until: datetime
) -> list[tuple[uuid.UUID, datetime, int]]:
    """Each member's savings lines (member, posted at, fen saved; an undo negative) from their
    own `since[member]` (a card's start, say) until `until`, oldest first: one read per BATCH
    members, from the earliest start among them."""
    out: list[tuple[uuid.UUID, datetime, int]] = []
    by_key = {str(m): m for m in since}
    keys = list(by_key)
    for i in range(0, len(keys), BATCH):
        chunk = keys[i : i + BATCH]
        earliest = min(since[by_key[k]] for k in chunk)
        rows = await session.execute(
            select(LedgerAccount.owner_key, JournalEntry.posted_at, JournalLine.amount_fen)
            .join(JournalLine, JournalLine.account_id == LedgerAccount.id)
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(
                LedgerAccount.code == Account.member_savings,
                LedgerAccount.owner_key.in_(chunk),
                JournalEntry.posted_at >= earliest,
                JournalEntry.posted_at < until,
            )
            .order_by(JournalEntry.posted_at, JournalEntry.id)
        )
        for owner, posted_at, amount_fen in rows:
            member = by_key[owner]
            if posted_at >= since[member]:
                out.append((member, posted_at, -int(amount_fen)))  # a credit balance
    out.sort(key=lambda line: line[1])
    return out


async def savings_between(
    session: AsyncSession, since: dict[uuid.UUID, datetime], until: datetime
) -> dict[uuid.UUID, int]:
    """What each member saved from their own `since[member]` until `until`, in fen."""
    saved = dict.fromkeys(since, 0)
    for member, _, fen in await saving_lines_between(session, since, until):
        saved[member] += fen
    return saved


@dataclass(frozen=True, slots=True)
class SavingLine:
    """One line of a member's savings book: a redemption's saving, or its undo (negative)."""

    posted_at: datetime
    saved_fen: int  # negative for an undo
    redemption_id: uuid.UUID
    store_name: str | None
    bill_fen: int | None
    by_companion: bool  # used by a household companion on this member's card


async def savings_book(
    session: AsyncSession, holder_id: uuid.UUID, *, limit: int = 200
) -> list[SavingLine]:
    """The member's savings lines, newest first, each with the store and the bill: the same
    postings as `savings_fen` sums (a companion's uses are on the holder's account)."""
    lines = (
        await session.execute(
            select(JournalEntry.posted_at, JournalLine.amount_fen, JournalEntry.ref)
            .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
            .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
            .where(
                LedgerAccount.code == Account.member_savings,
                LedgerAccount.owner_key == str(holder_id),
            )
            .order_by(JournalEntry.posted_at.desc(), JournalEntry.id.desc())
            .limit(limit)
        )
    ).all()
    ids = {uuid.UUID(ref) for _, _, ref in lines}
    found = {
        r.id: r
        for r in (
            await session.execute(
                select(Redemption.id, Redemption.member_id, Redemption.bill_fen, Store.name)
                .join(Store, Store.id == Redemption.store_id)
                .where(Redemption.id.in_(ids))
            )
        ).all()
    }
    out = []
    for posted_at, amount_fen, ref in lines:
        r = found.get(uuid.UUID(ref))
        out.append(
            SavingLine(
                posted_at=posted_at,
                saved_fen=-int(amount_fen),  # savings are a credit balance
                redemption_id=uuid.UUID(ref),
                store_name=r.name if r else None,
                bill_fen=r.bill_fen if r else None,
                by_companion=r is not None and r.member_id != holder_id,
            )
        )
    return out
