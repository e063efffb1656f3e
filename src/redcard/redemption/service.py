"""In-store redemption (核销): prepare (preview) → commit (burn the code) → undo.

Rules:
- The discount comes from the store's terms on the server (`kit/money.card_discount`: the
  part of the bill outside the store's excluded categories, minimum bill, cap, rounded down).
  The till never sends it; it may send the part of the bill in the excluded categories.
- A code is single-use and bound to the store it was prepared at: commit inserts
  (member_id, step) into `code_burns` (unique), so one code commits once whatever races.
- Wrong, expired, used and malformed codes all raise the same `InvalidCode`, and code checks
  are rate-limited (`limits`). The happy path reads the locks in the same query as the
  store's terms and the member (`repository.read_till`).
- Commit and undo are single conditional UPDATEs checked by rowcount; the memo ledger entry
  (member savings funded by the merchant) is posted in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, InvalidInput, NotFound
from redcard.kit.ids import new_id
from redcard.kit.money import MoneyError, card_discount, parse_yuan
from redcard.kit.time import utc_now
from redcard.ledger.savings import savings_entry
from redcard.ledger.service import post, post_one
from redcard.models import (
    UNDO_WINDOW,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    Store,
    StoreStatus,
)
from redcard.ops import metrics
from redcard.redemption import codes, limits
from redcard.redemption import repository as repo
from redcard.redemption.limits import InvalidCode
from redcard.redemption.repository import RedemptionRow
from redcard.redemption.till import Till, store_id_for

PREPARE_TTL = timedelta(minutes=5)


class CardNotUsable(Conflict):
    pass


class StoreNotLive(Conflict):
    pass


class BelowMinimumBill(Conflict):
    pass


class InvalidBill(InvalidInput):
    pass


class AlreadyCommitted(Conflict):
    pass


class PreparationExpired(Conflict):
    pass


class UndoRefused(Conflict):
    pass


class RedemptionNotFound(NotFound):
    pass


def _amount(fen: int | None, yuan: str | None) -> int | None:
    if yuan is not None:
        try:
            return parse_yuan(yuan)
        except MoneyError as exc:
            raise InvalidBill(str(exc)) from exc
    if fen is not None and (isinstance(fen, bool) or not isinstance(fen, int)):
        raise InvalidBill("send amounts in whole fen")
    return fen


def parse_bill(bill_fen: int | None, bill_yuan: str | None) -> int:
    bill = _amount(bill_fen, bill_yuan)
    if bill is None:
        raise InvalidBill("send the bill in whole fen")
    if bill <= 0:
        raise InvalidBill("the bill must be more than ¥0.00")
    return bill


def parse_excluded(
    excluded_fen: int | None, excluded_yuan: str | None, bill_fen: int, categories: str | None
) -> int:
    """The part of the bill in the store's excluded categories (no discount on it)."""
    excluded = _amount(excluded_fen, excluded_yuan) or 0
    if excluded and not categories:
        raise InvalidBill("this store excludes no categories from the card discount")
    if excluded < 0 or excluded > bill_fen:
        raise InvalidBill("the excluded part must be between ¥0.00 and the bill")
    return excluded


def masked(display_name: str, phone: str) -> str:
    """What a till may see of a member (same rule as `User.masked_name`)."""
    return f"{display_name[:1]}** ({phone[-4:]})"


@dataclass(frozen=True, slots=True)
class Shown:
    """A redemption as the till shows it: with its store's name and the member's masked name."""

    redemption: Redemption | RedemptionRow  # a row when a Core statement wrote it
    store_name: str
    member: str


@dataclass(frozen=True, slots=True)
class Prepared(Shown):
    discount_bp: int


# --- prepare / commit / undo -------------------------------------------------------------
async def prepare(
    session: AsyncSession,
    till: Till,
    *,
    store_id: uuid.UUID | None,
    code: str,
    bill_fen: int | None,
    bill_yuan: str | None,
    key: bytes,
    excluded_fen: int | None = None,
    excluded_yuan: str | None = None,
) -> Prepared:
    """Preview a redemption. Raises InvalidCode after recording the failure (the caller must
    let the transaction commit so the failure counts)."""
    store_id = await store_id_for(session, till, store_id)
    now = utc_now()
    normalised = codes.normalise(code)
    cands = (
        []
        if normalised is None
        else codes.candidates(normalised, key, codes.step_at(now.timestamp()))
    )
    handles = sorted({c.handle for c in cands}) or [-1]
    rows = await repo.read_till(session, store_id, handles, limits.scopes(till, store_id), now)
    if not rows:
        raise NotFound("no such store")
    store = rows[0]
    bill = parse_bill(bill_fen, bill_yuan)
    excluded = parse_excluded(excluded_fen, excluded_yuan, bill, store["excluded_categories"])
    limits.check_not_locked(store["locked_until"], now)
    if store["status"] != StoreStatus.live:
        raise StoreNotLive("this store is not taking the card right now")
    by_handle = {row["handle"]: row for row in rows if row["member_id"] is not None}
    match = next(
        (
            (by_handle[c.handle], c.step)
            for c in cands
            if c.handle in by_handle and codes.matches(c, by_handle[c.handle]["secret"])
        ),
        None,
    )
    if match is None:
        await limits.record_failure(session, till, store_id)
        raise InvalidCode()
    member, step = match
    card_id = member["card_id"]  # the code owner's own usable card
    if card_id is None:  # or, for a household companion, the primary's (checked live)
        card_id = await repo.companion_card(session, member["member_id"], now)
    if card_id is None:
        if await repo.burned(session, member["member_id"], step):
            await limits.record_failure(session, till, store_id)
            raise InvalidCode()
        raise CardNotUsable("this member has no valid card (expired, suspended or refunded)")
    min_bill = store["min_bill_fen"]
    if bill - excluded < min_bill:
        raise BelowMinimumBill(
            f"the card discount here applies from a bill of {min_bill / 100:.2f} yuan"
            + (" (excluded items not counted)" if excluded else "")
        )
    discount = card_discount(
        bill,
        excluded,
        rate_bp=store["discount_bp"],
        cap_fen=store["discount_cap_fen"],
        min_bill_fen=min_bill,
    )
    row = RedemptionRow(
        id=new_id(),
        kind=RedemptionKind.code,
        status=RedemptionStatus.prepared,
        store_id=store_id,
        merchant_id=store["merchant_id"],
        member_id=member["member_id"],
        membership_id=card_id,
        terminal_id=till.terminal.id if till.terminal else None,
        staff_id=till.staff.id if till.staff else None,
        order_id=None,
        code_step=step,
        bill_fen=bill,
        excluded_fen=excluded,
        discount_fen=discount,
        charged_fen=bill - discount,
        prepared_at=now,
        committed_at=None,
        undone_at=None,
        statement_id=None,
    )
    if not await repo.insert_unburned(session, row):  # this code was already used
        await limits.record_failure(session, till, store_id)
        raise InvalidCode()
    shown = masked(member["display_name"], member["phone"])
    return Prepared(row, store["name"], shown, store["discount_bp"])


async def _visible(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Redemption:
    found = await repo.visible(session, till, redemption_id)
    if found is None:
        raise RedemptionNotFound("no such redemption at your store")
    return found


async def commit(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Shown:
    now = utc_now()
    row = await repo.commit_prepared(session, till, redemption_id, now - PREPARE_TTL, now)
    if row is None:
        await _explain_commit_refusal(session, till, redemption_id, now)
        raise AssertionError("unreachable")
    committed = RedemptionRow(**{name: row[name] for name in repo.COLUMNS})
    assert committed.code_step is not None
    burn = {
        "id": new_id(),
        "member_id": committed.member_id,
        "step": committed.code_step,
        "redemption_id": committed.id,
        "burned_at": now,
    }
    if not await repo.burn(session, burn):
        raise InvalidCode()  # the same code was committed elsewhere first; all rolls back
    if committed.discount_fen:  # booked to the card's holder (a companion's use counts there)
        await post_one(session, savings_entry(committed, holder_id=row["holder_id"]))
    metrics.count_on_commit(session, metrics.REDEMPTIONS, "code", "committed")
    return Shown(committed, row["store"], masked(row["display_name"], row["phone"]))


async def _explain_commit_refusal(
    session: AsyncSession, till: Till, redemption_id: uuid.UUID, now: datetime
) -> None:
    found = await _visible(session, till, redemption_id)
    if found.status == RedemptionStatus.committed:
        raise AlreadyCommitted("this redemption is already committed")
    if found.status != RedemptionStatus.prepared or found.kind != RedemptionKind.code:
        raise Conflict(f"this redemption is {found.status}")
    if found.prepared_at <= now - PREPARE_TTL:
        raise PreparationExpired("the preview expired; scan a fresh code")
    store = await session.get_one(Store, found.store_id)
    if store.status != StoreStatus.live:
        raise StoreNotLive("this store is not taking the card right now")
    raise CardNotUsable("this member's card is no longer valid")


async def undo(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Shown:
    now = utc_now()
    undone = await repo.undo_committed(session, till, redemption_id, now - UNDO_WINDOW, now)
    if undone is None:
        found = await _visible(session, till, redemption_id)
        if found.status == RedemptionStatus.undone:
            raise UndoRefused("this redemption was already undone")
        if found.status != RedemptionStatus.committed or found.kind != RedemptionKind.code:
            raise UndoRefused(
                f"only a committed code redemption can be undone (it is {found.status})"
            )
        if found.statement_id is not None:
            raise UndoRefused("this redemption is already settled; it can no longer be undone")
        raise UndoRefused("the 1-hour undo window has passed")
    if undone.discount_fen:
        holder_id = await repo.card_holder(session, undone.membership_id)
        await post(session, savings_entry(undone, undo=True, holder_id=holder_id))
    metrics.count_on_commit(session, metrics.REDEMPTIONS, "code", "undone")
    return await _shown(session, undone)


async def _shown(session: AsyncSession, redemption: Redemption) -> Shown:
    names = await repo.names_of(session, redemption)
    return Shown(redemption, names["store"], masked(names["display_name"], names["phone"]))


async def get_for_till(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Shown:
    return await _shown(session, await _visible(session, till, redemption_id))


async def list_for_store(
    session: AsyncSession, till: Till, store_id: uuid.UUID | None, limit: int = 20
) -> list[Shown]:
    """Recent committed and undone redemptions at a store this till may work at."""
    store = await session.get(Store, await store_id_for(session, till, store_id))
    if store is None:
        raise NotFound("no such store")
    rows = await repo.list_for_store(session, store.id, limit)
    return [Shown(r, store.name, user.masked_name) for r, user in rows]
