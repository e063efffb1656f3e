"""In-store redemption (核销): prepare (preview) → commit (burn the code) → undo.

Rules:
- The discount comes from the store's terms on the server (`kit/money.card_discount`: the
  part of the bill outside the store's excluded categories, minimum bill, cap, rounded down).
  The till never sends it; it may send the part of the bill in the excluded categories.
- A code is single-use and bound to the store it was prepared at: commit inserts
  (member_id, step) into `code_burns` (unique), so one code commits once whatever races.
- Wrong, expired, used and malformed codes all raise the same `InvalidCode`.
- Code checks are rate-limited per till (terminal or staff login), per store and per IP.
  Only failures are written (`code_failures`); crossing a limit writes a `code_locks` row
  (and sets `terminals.locked_until`) and logs a warning. The happy path reads one indexed row
  set, in the same query as the store's terms and the member.
- Commit and undo are single conditional UPDATEs checked by rowcount; the memo ledger entry
  (member savings funded by the merchant) is posted in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    any_,
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
from redcard.kit import rawpg
from redcard.kit.ids import new_id
from redcard.kit.money import MoneyError, card_discount, parse_yuan
from redcard.kit.sql import dialect_name, rowcount
from redcard.kit.time import as_utc, utc_now
from redcard.ledger.savings import savings_entry
from redcard.ledger.service import post, post_one
from redcard.models import (
    UNDO_WINDOW,
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
# (about 550 -> 220 µs of CPU per statement here; see docs/performance.md). On PostgreSQL the
# till's prepare and commit run the same statements, compiled once, on the request's asyncpg
# connection (`kit/rawpg`, about 0.1 ms per statement); SQLite runs them through SQLAlchemy.
_BURN = {
    "postgresql": postgresql.insert(CodeBurn).on_conflict_do_nothing(
        index_elements=["member_id", "step"]
    ),
    "sqlite": sqlite.insert(CodeBurn).on_conflict_do_nothing(index_elements=["member_id", "step"]),
}
_BURN_PG = rawpg.Statement(_BURN["postgresql"])
PREPARE_TTL = timedelta(minutes=5)
FAILURE_WINDOW = timedelta(minutes=10)
LOCK_FOR = timedelta(minutes=5)
TILL_FAILURE_LIMIT = 10
STORE_FAILURE_LIMIT = 30
IP_FAILURE_LIMIT = 30


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


async def _store_id_for(session: AsyncSession, till: Till, store_id: uuid.UUID | None) -> uuid.UUID:
    """The store this till works at: a terminal's own, or one the staff member works at."""
    if till.terminal is not None:
        if store_id is not None and store_id != till.terminal.store_id:
            raise Forbidden("this terminal belongs to another store")
        return till.terminal.store_id
    if store_id is None:
        raise InvalidInput("choose a store")
    assert till.staff is not None
    allowed = await session.scalar(
        select(StoreStaff.id).where(
            StoreStaff.user_id == till.staff.id, StoreStaff.store_id == store_id
        )
    )
    if allowed is None:
        raise Forbidden("you are not staff at this store")
    return store_id


async def _store_for(session: AsyncSession, till: Till, store_id: uuid.UUID | None) -> Store:
    store = await session.get(Store, await _store_id_for(session, till, store_id))
    if store is None:
        raise NotFound("no such store")
    return store


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


# --- rate limiting -----------------------------------------------------------------------


def _scopes(till: Till, store_id: uuid.UUID) -> list[str]:
    return [till.key, f"store:{store_id}", f"ip:{till.ip}"]


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


# --- prepare / commit / undo -------------------------------------------------------------


def masked(display_name: str, phone: str) -> str:
    """What a till may see of a member (same rule as `User.masked_name`)."""
    return f"{display_name[:1]}** ({phone[-4:]})"


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    """A redemption row as the till's prepare and commit wrote it: the columns only, not an
    ORM object (building one costs more CPU than the statement that wrote it)."""

    id: uuid.UUID
    kind: str
    status: str
    store_id: uuid.UUID
    merchant_id: uuid.UUID
    member_id: uuid.UUID
    membership_id: uuid.UUID
    terminal_id: uuid.UUID | None
    staff_id: uuid.UUID | None
    order_id: uuid.UUID | None
    code_step: int | None
    bill_fen: int
    excluded_fen: int
    discount_fen: int
    charged_fen: int
    prepared_at: datetime
    committed_at: datetime | None
    undone_at: datetime | None
    statement_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Prepared:
    redemption: RedemptionRow  # written with a Core INSERT
    store_name: str
    discount_bp: int
    member: str  # masked name


# Everything prepare needs, in one round trip: the store's terms, whether this till / store /
# IP is locked out, and each candidate handle's member with their name and usable card. The
# store is the outer side of the join, so it comes back even when no handle matches.
_MATCH = MemberCode.__table__.join(User.__table__, User.id == MemberCode.member_id)


def _till_read(arrays: bool) -> Any:
    """The till's one read. `arrays`: the scopes and handles as one array parameter each
    (`= ANY($n)`, PostgreSQL, compiled once) instead of an expanding IN list."""
    if arrays:
        scope_in = CodeLock.scope_key == any_(bindparam("scopes", type_=postgresql.ARRAY(String)))
        handle_in = MemberCode.handle == any_(bindparam("handles", type_=postgresql.ARRAY(Integer)))
    else:
        scope_in = CodeLock.scope_key.in_(bindparam("scopes", expanding=True))
        handle_in = MemberCode.handle.in_(bindparam("handles", expanding=True))
    locked = select(func.max(CodeLock.locked_until)).where(
        scope_in, CodeLock.locked_until > bindparam("now")
    )
    return (
        select(
            Store.merchant_id,
            Store.status,
            Store.name,
            Store.discount_bp,
            Store.discount_cap_fen,
            Store.min_bill_fen,
            Store.excluded_categories,
            locked.scalar_subquery().label("locked_until"),
            MemberCode.member_id,
            MemberCode.handle,
            MemberCode.secret,
            User.display_name,
            User.phone,
            select(Membership.id)
            .where(
                Membership.member_id == MemberCode.member_id,
                Membership.status == MembershipStatus.active,
                Membership.starts_at <= bindparam("now"),
                Membership.ends_at > bindparam("now"),
            )
            .limit(1)
            .scalar_subquery()
            .label("card_id"),
        )
        .select_from(Store.__table__.outerjoin(_MATCH, handle_in))
        .where(Store.id == bindparam("store_id"))
    )


_TILL_READ = _till_read(arrays=False)
_TILL_READ_PG = rawpg.Statement(_till_read(arrays=True))
_R = cast(Table, Redemption.__table__)
_R_COLUMNS = [c.name for c in _R.c]
# The redemption row, written only if this member's code for this step is not burned yet.
_INSERT_UNBURNED = insert(_R).from_select(
    _R_COLUMNS,
    select(*[bindparam(f"v_{c.name}", type_=c.type) for c in _R.c]).where(
        ~exists().where(
            CodeBurn.member_id == bindparam("v_member_id"),
            CodeBurn.step == bindparam("v_code_step"),
        )
    ),
)
_INSERT_UNBURNED_PG = rawpg.Statement(_INSERT_UNBURNED)


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
    store_id = await _store_id_for(session, till, store_id)
    now = utc_now()
    normalised = codes.normalise(code)
    cands = (
        []
        if normalised is None
        else codes.candidates(normalised, key, codes.step_at(now.timestamp()))
    )
    params = {
        "store_id": store_id,
        "handles": sorted({c.handle for c in cands}) or [-1],
        "scopes": _scopes(till, store_id),
        "now": now,
    }
    raw = await rawpg.connection(session)
    rows: Sequence[Any]  # asyncpg Records or RowMappings: row["name"]
    if raw is not None:
        rows = await rawpg.fetch(raw, _TILL_READ_PG.sql, *_TILL_READ_PG.args(params))
    else:
        rows = (await (await session.connection()).execute(_TILL_READ, params)).mappings().all()
    if not rows:
        raise NotFound("no such store")
    store = rows[0]
    bill = parse_bill(bill_fen, bill_yuan)
    excluded = parse_excluded(excluded_fen, excluded_yuan, bill, store["excluded_categories"])
    locked_until = store["locked_until"]
    if locked_until is not None:
        seconds = max(1, int((as_utc(locked_until) - now).total_seconds()))
        raise TillLocked(f"too many invalid codes; code checks are paused for {seconds} s")
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
        await record_failure(session, till, store_id)
        raise InvalidCode()
    member, step = match
    if member["card_id"] is None:
        if await _burned(session, member["member_id"], step):
            await record_failure(session, till, store_id)
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
    values = {
        "id": new_id(),
        "kind": RedemptionKind.code,
        "status": RedemptionStatus.prepared,
        "store_id": store_id,
        "merchant_id": store["merchant_id"],
        "member_id": member["member_id"],
        "membership_id": member["card_id"],
        "terminal_id": till.terminal.id if till.terminal else None,
        "staff_id": till.staff.id if till.staff else None,
        "order_id": None,
        "code_step": step,
        "bill_fen": bill,
        "excluded_fen": excluded,
        "discount_fen": discount,
        "charged_fen": bill - discount,
        "prepared_at": now,
        "committed_at": None,
        "undone_at": None,
        "statement_id": None,
    }
    insert_params = {f"v_{k}": v for k, v in values.items()}
    if raw is not None:
        sql, args = _INSERT_UNBURNED_PG.sql, _INSERT_UNBURNED_PG.args(insert_params)
        written = await rawpg.execute(raw, sql, *args)
    else:
        conn = await session.connection()
        written = rowcount(await conn.execute(_INSERT_UNBURNED, insert_params))
    if not written:  # this code was already used
        await record_failure(session, till, store_id)
        raise InvalidCode()
    return Prepared(
        RedemptionRow(**values),
        store["name"],
        store["discount_bp"],
        masked(member["display_name"], member["phone"]),
    )


async def _burned(session: AsyncSession, member_id: uuid.UUID, step: int) -> bool:
    found = await session.scalar(
        select(CodeBurn.id).where(CodeBurn.member_id == member_id, CodeBurn.step == step)
    )
    return found is not None


async def _visible(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Redemption:
    found = await session.scalar(
        select(Redemption).where(Redemption.id == redemption_id, _store_scope(till))
    )
    if found is None:
        raise RedemptionNotFound("no such redemption at your store")
    return found


def _commit_statement(scope: ColumnElement[bool]) -> Any:
    """UPDATE … SET committed WHERE it is still a fresh, prepared code redemption at this
    till's store, the store is live and the card is still usable; RETURNING the row and what
    the till shows."""
    return (
        update(_R)
        .where(
            _R.c.id == bindparam("b_id"),
            _R.c.status == RedemptionStatus.prepared,
            _R.c.kind == RedemptionKind.code,
            _R.c.prepared_at > bindparam("b_fresh_after"),
            scope,
            exists().where(
                Membership.id == _R.c.membership_id,
                Membership.status == MembershipStatus.active,
                Membership.ends_at > bindparam("b_now"),
            ),
            exists().where(Store.id == _R.c.store_id, Store.status == StoreStatus.live),
        )
        .values(status=RedemptionStatus.committed, committed_at=bindparam("b_now"))
        .returning(
            *_R.c,
            select(Store.name).where(Store.id == _R.c.store_id).scalar_subquery().label("store"),
            select(User.display_name)
            .where(User.id == _R.c.member_id)
            .scalar_subquery()
            .label("display_name"),
            select(User.phone).where(User.id == _R.c.member_id).scalar_subquery().label("phone"),
        )
    )


_COMMIT_AT_TERMINAL = _commit_statement(_R.c.store_id == bindparam("b_store_id"))
_COMMIT_BY_STAFF = _commit_statement(
    _R.c.store_id.in_(select(StoreStaff.store_id).where(StoreStaff.user_id == bindparam("b_staff")))
)
_COMMIT_PG = {
    _COMMIT_AT_TERMINAL: rawpg.Statement(_COMMIT_AT_TERMINAL),
    _COMMIT_BY_STAFF: rawpg.Statement(_COMMIT_BY_STAFF),
}


@dataclass(frozen=True, slots=True)
class Committed:
    redemption: RedemptionRow  # changed with a Core UPDATE
    store_name: str
    member: str  # masked name


async def commit(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Committed:
    now = utc_now()
    params: dict[str, Any] = {
        "b_id": redemption_id,
        "b_fresh_after": now - PREPARE_TTL,
        "b_now": now,
    }
    if till.terminal is not None:
        statement, params["b_store_id"] = _COMMIT_AT_TERMINAL, till.terminal.store_id
    else:
        assert till.staff is not None
        statement, params["b_staff"] = _COMMIT_BY_STAFF, till.staff.id
    raw = await rawpg.connection(session)
    row: Any  # an asyncpg Record or a RowMapping: row["name"]
    if raw is not None:
        pg = _COMMIT_PG[statement]
        row = await rawpg.fetchrow(raw, pg.sql, *pg.args(params))
    else:
        conn = await session.connection()
        row = (await conn.execute(statement, params)).mappings().first()
    if row is None:
        await _explain_commit_refusal(session, till, redemption_id, now)
        raise AssertionError("unreachable")
    committed = RedemptionRow(**{name: row[name] for name in _R_COLUMNS})
    assert committed.code_step is not None
    burn = {
        "id": new_id(),
        "member_id": committed.member_id,
        "step": committed.code_step,
        "redemption_id": committed.id,
        "burned_at": now,
    }
    if raw is not None:
        burned = await rawpg.execute(raw, _BURN_PG.sql, *_BURN_PG.args(burn))
    else:
        burned = rowcount(await conn.execute(_BURN[dialect_name(session)], burn))
    if not burned:
        raise InvalidCode()  # the same code was committed elsewhere first; all rolls back
    if committed.discount_fen:
        await post_one(session, savings_entry(committed))
    return Committed(committed, row["store"], masked(row["display_name"], row["phone"]))


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
    if undone.discount_fen:
        await post(session, savings_entry(undone, undo=True))
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
