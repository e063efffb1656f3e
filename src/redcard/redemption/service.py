"""In-store redemption (核销): prepare (preview) → commit (burn the code) → undo.

Rules:
- The discount comes from the store's terms on the server (`Store.discount_for`, rounded down
  as `kit/money.py` documents). The till never sends it.
- A code is single-use and bound to the store it was prepared at: commit inserts
  (member_id, step) into `code_burns` (unique), so one code commits once whatever races.
- Wrong, expired, used and malformed codes all raise the same `InvalidCode`.
- Code checks are rate-limited per till (terminal or staff login), per store and per IP.
  Only failures are written (`code_failures`); crossing a limit writes a `code_locks` row
  (and sets `terminals.locked_until`) and logs a warning. The happy path reads one indexed row set.
- Commit and undo are single conditional UPDATEs checked by rowcount; the memo ledger entry
  (member savings funded by the merchant) is posted in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from redcard.kit.ids import new_id
from redcard.kit.money import MoneyError, parse_yuan
from redcard.kit.sql import dialect_name, rowcount
from redcard.kit.time import utc_now
from redcard.ledger.accounts import Account
from redcard.ledger.service import Entry, Line, post
from redcard.models import (
    CodeBurn,
    CodeFailure,
    CodeLock,
    MemberCode,
    Membership,
    MembershipStatus,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    Store,
    StoreStaff,
    StoreStatus,
    Terminal,
    User,
)
from redcard.redemption import codes

log = logging.getLogger(__name__)

# Hot-path statements are built once with bind parameters and run on the request's connection:
# SQLAlchemy then skips building the expression and most of the ORM layer on every request
# (about 550 -> 220 µs of CPU per statement here; see docs/performance.md).
_LOCKED = select(func.max(CodeLock.locked_until)).where(
    CodeLock.scope_key.in_(bindparam("scopes", expanding=True)),
    CodeLock.locked_until > bindparam("now"),
)
_CODES = select(MemberCode.member_id, MemberCode.handle, MemberCode.secret).where(
    MemberCode.handle.in_(bindparam("handles", expanding=True))
)
_MEMBER_AT_TILL = select(
    User.display_name,
    User.phone,
    select(CodeBurn.id)
    .where(CodeBurn.member_id == bindparam("member_id"), CodeBurn.step == bindparam("step"))
    .scalar_subquery(),
    select(Membership.id)
    .where(
        Membership.member_id == bindparam("member_id"),
        Membership.status == MembershipStatus.active,
        Membership.starts_at <= bindparam("now"),
        Membership.ends_at > bindparam("now"),
    )
    .limit(1)
    .scalar_subquery(),
).where(User.id == bindparam("member_id"))
_INSERT_REDEMPTION = insert(Redemption)
_BURN = {
    "postgresql": postgresql.insert(CodeBurn).on_conflict_do_nothing(
        index_elements=["member_id", "step"]
    ),
    "sqlite": sqlite.insert(CodeBurn).on_conflict_do_nothing(index_elements=["member_id", "step"]),
}
_COUNT_USE = (
    update(Store)
    .where(Store.id == bindparam("b_store_id"), Store.status == StoreStatus.live)
    .values(redemptions_count=Store.redemptions_count + 1)
)

PREPARE_TTL = timedelta(minutes=5)
UNDO_WINDOW = timedelta(hours=1)
FAILURE_WINDOW = timedelta(minutes=10)
LOCK_FOR = timedelta(minutes=5)
TILL_FAILURE_LIMIT = 10
STORE_FAILURE_LIMIT = 30
IP_FAILURE_LIMIT = 30
ENTRY_KIND = "redemption"
UNDO_ENTRY_KIND = "redemption_undo"


class InvalidCode(InvalidInput):
    """Wrong, expired, used or malformed: one message for all, so a guesser learns nothing."""

    def __init__(self) -> None:
        super().__init__("this code is not valid; ask the member to show a fresh code")


class TillLocked(TooManyRequests):
    pass


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


class TerminalRef(NamedTuple):
    id: uuid.UUID
    store_id: uuid.UUID


@dataclass(frozen=True)
class Till:
    """Who is at the till: a terminal (API key, bound to one store) or a staff login."""

    ip: str
    terminal: TerminalRef | None = None
    staff: User | None = None

    @property
    def key(self) -> str:
        if self.terminal is not None:
            return f"terminal:{self.terminal.id}"
        assert self.staff is not None
        return f"staff:{self.staff.id}"


def _store_scope(till: Till) -> ColumnElement[bool]:
    """SQL condition: the redemption's store is one this till may work at."""
    if till.terminal is not None:
        return Redemption.store_id == till.terminal.store_id
    assert till.staff is not None
    return Redemption.store_id.in_(
        select(StoreStaff.store_id).where(StoreStaff.user_id == till.staff.id)
    )


async def _store_for(session: AsyncSession, till: Till, store_id: uuid.UUID | None) -> Store:
    if till.terminal is not None:
        if store_id is not None and store_id != till.terminal.store_id:
            raise Forbidden("this terminal belongs to another store")
        store_id = till.terminal.store_id
    if store_id is None:
        raise InvalidInput("choose a store")
    if till.staff is not None:
        allowed = await session.scalar(
            select(StoreStaff.id).where(
                StoreStaff.user_id == till.staff.id, StoreStaff.store_id == store_id
            )
        )
        if allowed is None:
            raise Forbidden("you are not staff at this store")
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound("no such store")
    return store


def parse_bill(bill_fen: int | None, bill_yuan: str | None) -> int:
    if bill_yuan is not None:
        try:
            bill_fen = parse_yuan(bill_yuan)
        except MoneyError as exc:
            raise InvalidBill(str(exc)) from exc
    if bill_fen is None or isinstance(bill_fen, bool) or not isinstance(bill_fen, int):
        raise InvalidBill("send the bill in whole fen")
    if bill_fen <= 0:
        raise InvalidBill("the bill must be more than ¥0.00")
    return bill_fen


# --- rate limiting -----------------------------------------------------------------------


def _scopes(till: Till, store_id: uuid.UUID) -> list[str]:
    return [till.key, f"store:{store_id}", f"ip:{till.ip}"]


async def check_not_locked(session: AsyncSession, till: Till, store_id: uuid.UUID) -> None:
    now = utc_now()
    conn = await session.connection()
    locked = (await conn.execute(_LOCKED, {"scopes": _scopes(till, store_id), "now": now})).scalar()
    if locked is not None:
        seconds = max(1, int((locked - now).total_seconds()))
        raise TillLocked(f"too many invalid codes; code checks are paused for {seconds} s")


async def _lock(session: AsyncSession, scope_key: str, until: datetime, reason: str) -> None:
    values = {"scope_key": scope_key, "locked_until": until, "reason": reason}
    changes = {"locked_until": until, "reason": reason}
    if dialect_name(session) == "postgresql":
        pg = postgresql.insert(CodeLock).values(values)
        await session.execute(pg.on_conflict_do_update(index_elements=["scope_key"], set_=changes))
    else:
        lite = sqlite.insert(CodeLock).values(values)
        await session.execute(
            lite.on_conflict_do_update(index_elements=["scope_key"], set_=changes)
        )


async def record_failure(session: AsyncSession, till: Till, store_id: uuid.UUID) -> None:
    """Count a rejected code; lock whichever of till / store / IP crossed its limit."""
    now = utc_now()
    session.add(
        CodeFailure(id=new_id(), till_key=till.key, store_id=store_id, ip=till.ip, failed_at=now)
    )
    await session.flush()
    since = now - FAILURE_WINDOW
    row = (
        await session.execute(
            select(
                func.sum(case((CodeFailure.till_key == till.key, 1), else_=0)),
                func.sum(case((CodeFailure.store_id == store_id, 1), else_=0)),
                func.sum(case((CodeFailure.ip == till.ip, 1), else_=0)),
            ).where(
                CodeFailure.failed_at > since,
                or_(
                    CodeFailure.till_key == till.key,
                    CodeFailure.store_id == store_id,
                    CodeFailure.ip == till.ip,
                ),
            )
        )
    ).one()
    counts = [int(v or 0) for v in row]
    limits = [TILL_FAILURE_LIMIT, STORE_FAILURE_LIMIT, IP_FAILURE_LIMIT]
    until = now + LOCK_FOR
    for scope_key, seen, limit in zip(_scopes(till, store_id), counts, limits, strict=True):
        if seen >= limit:
            reason = f"{seen} invalid codes in {int(FAILURE_WINDOW.total_seconds())} s"
            log.warning("code checks locked for %s until %s: %s", scope_key, until, reason)
            await _lock(session, scope_key, until, reason)
            if scope_key == till.key and till.terminal is not None:
                await session.execute(
                    update(Terminal)
                    .where(Terminal.id == till.terminal.id)
                    .values(locked_until=until)
                )


# --- member codes ------------------------------------------------------------------------


async def get_or_create_code(session: AsyncSession, member_id: uuid.UUID) -> MemberCode:
    found = await session.get(MemberCode, member_id)
    for _ in range(8):
        if found is not None:
            return found
        values = {
            "member_id": member_id,
            "handle": codes.new_handle(),
            "secret": codes.new_secret(),
            "created_at": utc_now(),
        }
        if dialect_name(session) == "postgresql":
            await session.execute(
                postgresql.insert(MemberCode).values(values).on_conflict_do_nothing()
            )
        else:
            await session.execute(sqlite.insert(MemberCode).values(values).on_conflict_do_nothing())
        found = await session.get(MemberCode, member_id)
    raise Conflict("could not allocate a member code; try again")


async def resolve_code(session: AsyncSession, code: str, key: bytes) -> tuple[uuid.UUID, int]:
    """(member_id, step) for a code that matches a member's TOTP, else InvalidCode. Whether
    it is already burned is checked by the caller (in the same query as the card)."""
    normalised = codes.normalise(code)
    if normalised is None:
        raise InvalidCode()
    now_step = codes.step_at(utc_now().timestamp())
    cands = codes.candidates(normalised, key, now_step)
    conn = await session.connection()
    rows = (await conn.execute(_CODES, {"handles": sorted({c.handle for c in cands})})).all()
    by_handle = {handle: (member_id, secret) for member_id, handle, secret in rows}
    for cand in cands:
        found = by_handle.get(cand.handle)
        if found is not None and codes.matches(cand, found[1]):
            return found[0], cand.step
    raise InvalidCode()


def _usable_card(member_id: uuid.UUID, at: datetime) -> ColumnElement[bool]:
    return and_(
        Membership.member_id == member_id,
        Membership.status == MembershipStatus.active,
        Membership.starts_at <= at,
        Membership.ends_at > at,
    )


# --- prepare / commit / undo -------------------------------------------------------------


def masked(display_name: str, phone: str) -> str:
    """What a till may see of a member (same rule as `User.masked_name`)."""
    return f"{display_name[:1]}** ({phone[-4:]})"


@dataclass
class Prepared:
    redemption: Redemption
    store: Store
    member: str  # masked name


async def prepare(
    session: AsyncSession,
    till: Till,
    *,
    store_id: uuid.UUID | None,
    code: str,
    bill_fen: int | None,
    bill_yuan: str | None,
    key: bytes,
) -> Prepared:
    """Preview a redemption. Raises InvalidCode after recording the failure (the caller must
    let the transaction commit so the failure counts)."""
    store = await _store_for(session, till, store_id)
    bill = parse_bill(bill_fen, bill_yuan)
    await check_not_locked(session, till, store.id)
    if store.status != StoreStatus.live:
        raise StoreNotLive("this store is not taking the card right now")
    try:
        member_id, step = await resolve_code(session, code, key)
    except InvalidCode:
        await record_failure(session, till, store.id)
        raise
    now = utc_now()
    # one round trip: the member's name, whether this code is burned, and a usable card
    conn = await session.connection()
    display_name, phone, burned_id, card_id = (
        await conn.execute(_MEMBER_AT_TILL, {"member_id": member_id, "step": step, "now": now})
    ).one()
    if burned_id is not None:
        await record_failure(session, till, store.id)
        raise InvalidCode()
    if card_id is None:
        raise CardNotUsable("this member has no valid card (expired, suspended or refunded)")
    if bill < store.min_bill_fen:
        raise BelowMinimumBill(
            f"the card discount here applies from a bill of {store.min_bill_fen / 100:.2f} yuan"
        )
    discount = store.discount_for(bill)
    values = {
        "id": new_id(),
        "kind": RedemptionKind.code,
        "status": RedemptionStatus.prepared,
        "store_id": store.id,
        "merchant_id": store.merchant_id,
        "member_id": member_id,
        "membership_id": card_id,
        "terminal_id": till.terminal.id if till.terminal else None,
        "staff_id": till.staff.id if till.staff else None,
        "code_step": step,
        "bill_fen": bill,
        "discount_fen": discount,
        "charged_fen": bill - discount,
        "prepared_at": now,
    }
    await conn.execute(_INSERT_REDEMPTION, values)
    redemption = Redemption(**values, committed_at=None, undone_at=None, statement_id=None)
    return Prepared(redemption, store, masked(display_name, phone))


def savings_entry(r: Redemption, kind: str = ENTRY_KIND, sign: int = 1) -> Entry:
    """Memo entry: the member's savings (credit, owner = member) funded by the merchant
    (debit, owner = merchant). The undo posts the same lines reversed as a new entry."""
    return Entry(
        kind=kind,
        ref=str(r.id),
        lines=[
            Line(Account.member_savings, -sign * r.discount_fen, str(r.member_id)),
            Line(Account.merchant_discounts_funded, sign * r.discount_fen, str(r.merchant_id)),
        ],
    )


async def _visible(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Redemption:
    found = await session.scalar(
        select(Redemption).where(Redemption.id == redemption_id, _store_scope(till))
    )
    if found is None:
        raise RedemptionNotFound("no such redemption at your store")
    return found


async def commit(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Redemption:
    now = utc_now()
    card_ok = exists().where(
        Membership.id == Redemption.membership_id,
        Membership.status == MembershipStatus.active,
        Membership.ends_at > now,
    )
    committed = await session.scalar(
        update(Redemption)
        .where(
            Redemption.id == redemption_id,
            Redemption.status == RedemptionStatus.prepared,
            Redemption.kind == RedemptionKind.code,
            Redemption.prepared_at > now - PREPARE_TTL,
            _store_scope(till),
            card_ok,
        )
        .values(status=RedemptionStatus.committed, committed_at=now)
        .returning(Redemption),
        execution_options={"synchronize_session": False},
    )
    if committed is None:
        await _explain_commit_refusal(session, till, redemption_id, now)
        raise AssertionError("unreachable")
    assert committed.code_step is not None
    conn = await session.connection()
    burned = await conn.execute(
        _BURN[dialect_name(session)],
        {
            "id": new_id(),
            "member_id": committed.member_id,
            "step": committed.code_step,
            "redemption_id": committed.id,
            "burned_at": now,
        },
    )
    if not rowcount(burned):
        raise InvalidCode()  # the same code was committed elsewhere first; all rolls back
    live = await conn.execute(_COUNT_USE, {"b_store_id": committed.store_id})
    if not rowcount(live):
        raise StoreNotLive("this store is not taking the card right now")
    if committed.discount_fen:
        await post(session, savings_entry(committed))
    return committed


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
    raise CardNotUsable("this member's card is no longer valid")


async def undo(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Redemption:
    now = utc_now()
    undone = await session.scalar(
        update(Redemption)
        .where(
            Redemption.id == redemption_id,
            Redemption.status == RedemptionStatus.committed,
            Redemption.kind == RedemptionKind.code,
            Redemption.statement_id.is_(None),
            Redemption.committed_at > now - UNDO_WINDOW,
            _store_scope(till),
        )
        .values(status=RedemptionStatus.undone, undone_at=now)
        .returning(Redemption),
        execution_options={"synchronize_session": False},
    )
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
    await session.execute(
        update(Store)
        .where(Store.id == undone.store_id)
        .values(redemptions_count=Store.redemptions_count - 1)
    )
    if undone.discount_fen:
        await post(session, savings_entry(undone, UNDO_ENTRY_KIND, -1))
    return undone


async def get_for_till(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Redemption:
    return await _visible(session, till, redemption_id)


async def list_for_store(
    session: AsyncSession, till: Till, store_id: uuid.UUID | None, limit: int = 20
) -> tuple[Store, list[tuple[Redemption, User]]]:
    store = await _store_for(session, till, store_id)
    rows = await session.execute(
        select(Redemption, User)
        .join(User, User.id == Redemption.member_id)
        .where(
            Redemption.store_id == store.id,
            Redemption.status.in_([RedemptionStatus.committed, RedemptionStatus.undone]),
        )
        .order_by(Redemption.committed_at.desc())
        .limit(limit)
    )
    return store, [(r, u) for r, u in rows]


async def list_for_member(
    session: AsyncSession, member_id: uuid.UUID, limit: int = 50, since: datetime | None = None
) -> list[tuple[Redemption, str]]:
    stmt = (
        select(Redemption, Store.name)
        .join(Store, Store.id == Redemption.store_id)
        .where(
            Redemption.member_id == member_id,
            Redemption.status.in_([RedemptionStatus.committed, RedemptionStatus.undone]),
        )
        .order_by(Redemption.committed_at.desc())
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(Redemption.committed_at > since)
    rows = await session.execute(stmt)
    return [(r, name) for r, name in rows]
