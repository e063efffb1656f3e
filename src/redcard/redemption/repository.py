"""Queries of the till: its hot statements (prepare and commit) and the reads around them.

Hot statements are built once with bind parameters: SQLAlchemy then skips building the
expression and most of the ORM layer on every request (about 550 -> 220 µs of CPU per
statement here; see docs/performance.md). On PostgreSQL they run compiled once on the
request's asyncpg connection (`kit.rawpg.HotStatement`, about 0.1 ms per statement); SQLite
runs them through SQLAlchemy.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.rawpg import HotStatement
from redcard.kit.sql import insert_ignore
from redcard.merchants import access
from redcard.models import (
    CodeBurn,
    CodeLock,
    Companion,
    CompanionStatus,
    MemberCode,
    Membership,
    MembershipStatus,
    PlanKind,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    Store,
    StoreStatus,
    User,
)
from redcard.redemption.till import Till, redemption_scope

_R = cast(Table, Redemption.__table__)
COLUMNS = [c.name for c in _R.c]


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


# -- prepare ----------------------------------------------------------------------------------
# Everything prepare needs, in one round trip: the store's terms, whether this till / store /
# IP is locked out, and each candidate handle's member with their name and usable card. The
# store is the outer side of the join, so it comes back even when no handle matches.
_MATCH = MemberCode.__table__.join(User.__table__, User.id == MemberCode.member_id)


def _usable_card(*where: ColumnElement[bool]) -> Any:
    """SQL: the id of a card that is usable at `now`, among those `where` selects."""
    return (
        select(Membership.id)
        .where(
            *where,
            Membership.status == MembershipStatus.active,
            Membership.starts_at <= bindparam("now"),
            Membership.ends_at > bindparam("now"),
        )
        .limit(1)
        .scalar_subquery()
    )


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
            _usable_card(Membership.member_id == MemberCode.member_id).label("card_id"),
        )
        .select_from(Store.__table__.outerjoin(_MATCH, handle_in))
        .where(Store.id == bindparam("store_id"))
    )


_TILL_READ = HotStatement(_till_read(arrays=False), pg=_till_read(arrays=True))


async def read_till(
    session: AsyncSession,
    store_id: uuid.UUID,
    handles: Sequence[int],
    scopes: Sequence[str],
    now: datetime,
) -> Sequence[Any]:
    """The store's terms and lock (on every row; no row: no such store), and one row per
    candidate handle's member (`member_id` None when no handle matched)."""
    params = {"store_id": store_id, "handles": list(handles), "scopes": scopes, "now": now}
    return await _TILL_READ.fetch(session, params)


# A household companion's card: the usable paid card of the primary whose active companion
# they are. Asked only when the code's owner has no usable card of their own (so a holder's
# prepare is the one read above, unchanged); checked live, so a removal or the card ending
# stops the companion's code at once.
_PRIMARY = (
    select(Companion.primary_id)
    .where(
        Companion.companion_id == bindparam("member_id"),
        Companion.status == CompanionStatus.active,
    )
    .limit(1)
    .scalar_subquery()
)
_COMPANION_CARD = HotStatement(
    select(
        _usable_card(Membership.member_id == _PRIMARY, Membership.kind == PlanKind.paid).label(
            "card_id"
        )
    )
)


async def companion_card(
    session: AsyncSession, member_id: uuid.UUID, now: datetime
) -> uuid.UUID | None:
    """The card a companion's code uses now, or None (not a companion, or the card ended)."""
    row = await _COMPANION_CARD.fetchrow(session, {"member_id": member_id, "now": now})
    return None if row is None else cast(uuid.UUID | None, row["card_id"])


# The redemption row, written only if this member's code for this step is not burned yet.
_INSERT_UNBURNED = HotStatement(
    insert(_R).from_select(
        COLUMNS,
        select(*[bindparam(f"v_{c.name}", type_=c.type) for c in _R.c]).where(
            ~exists().where(
                CodeBurn.member_id == bindparam("v_member_id"),
                CodeBurn.step == bindparam("v_code_step"),
            )
        ),
    )
)


async def insert_unburned(session: AsyncSession, row: RedemptionRow) -> bool:
    """Write the prepared redemption unless its code (member, step) is burned already."""
    params = {f"v_{name}": getattr(row, name) for name in COLUMNS}
    return await _INSERT_UNBURNED.execute(session, params) > 0


async def burned(session: AsyncSession, member_id: uuid.UUID, step: int) -> bool:
    found = await session.scalar(
        select(CodeBurn.id).where(CodeBurn.member_id == member_id, CodeBurn.step == step)
    )
    return found is not None


# -- commit -----------------------------------------------------------------------------------
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
                or_(
                    Membership.member_id == _R.c.member_id,  # the holder's own code
                    exists()  # a companion's: still the primary's active companion
                    .where(
                        Companion.primary_id == Membership.member_id,
                        Companion.companion_id == _R.c.member_id,
                        Companion.status == CompanionStatus.active,
                    )
                    .correlate_except(Companion),
                ),
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
            select(Membership.member_id)
            .where(Membership.id == _R.c.membership_id)
            .scalar_subquery()
            .label("holder_id"),
        )
    )


_COMMIT_AT_TERMINAL = HotStatement(_commit_statement(_R.c.store_id == bindparam("b_store_id")))
_COMMIT_BY_STAFF = HotStatement(
    _commit_statement(_R.c.store_id.in_(access.store_ids_query(bindparam("b_staff"))))
)


async def commit_prepared(
    session: AsyncSession,
    till: Till,
    redemption_id: uuid.UUID,
    fresh_after: datetime,
    now: datetime,
) -> Any | None:
    """Mark a prepared redemption committed if every condition still holds; the row with the
    store's name and the member's `display_name` and `phone`, or None if it was refused."""
    params: dict[str, Any] = {"b_id": redemption_id, "b_fresh_after": fresh_after, "b_now": now}
    if till.terminal is not None:
        params["b_store_id"] = till.terminal.store_id
        return await _COMMIT_AT_TERMINAL.fetchrow(session, params)
    assert till.staff is not None
    params["b_staff"] = till.staff.id
    return await _COMMIT_BY_STAFF.fetchrow(session, params)


_BURN = HotStatement(lambda dialect: insert_ignore(dialect, CodeBurn, ["member_id", "step"]))


async def burn(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Burn a code (member, step) for a redemption; False if it was burned already."""
    return await _BURN.execute(session, row) > 0


# -- undo -------------------------------------------------------------------------------------
async def undo_committed(
    session: AsyncSession,
    till: Till,
    redemption_id: uuid.UUID,
    committed_after: datetime,
    now: datetime,
) -> Redemption | None:
    """Mark a committed, unsettled code redemption undone if it was committed after
    `committed_after`; None if it was refused."""
    return await session.scalar(
        update(Redemption)
        .where(
            Redemption.id == redemption_id,
            Redemption.status == RedemptionStatus.committed,
            Redemption.kind == RedemptionKind.code,
            Redemption.statement_id.is_(None),
            Redemption.committed_at > committed_after,
            redemption_scope(till),
        )
        .values(status=RedemptionStatus.undone, undone_at=now)
        .returning(Redemption),
        execution_options={"synchronize_session": False},
    )


# -- reads ------------------------------------------------------------------------------------
async def card_holder(session: AsyncSession, membership_id: uuid.UUID) -> uuid.UUID:
    """Whose card it is (a redemption's member may be the holder's companion)."""
    found = await session.execute(
        select(Membership.member_id).where(Membership.id == membership_id)
    )
    return found.scalar_one()


async def visible(session: AsyncSession, till: Till, redemption_id: uuid.UUID) -> Redemption | None:
    """A redemption at a store this till may work at."""
    return await session.scalar(
        select(Redemption).where(Redemption.id == redemption_id, redemption_scope(till))
    )


_NAMES = select(
    select(Store.name).where(Store.id == bindparam("store_id")).scalar_subquery().label("store"),
    User.display_name,
    User.phone,
).where(User.id == bindparam("member_id"))


async def names_of(session: AsyncSession, redemption: Redemption) -> Any:
    """The redemption's store name (`store`) and its member's `display_name` and `phone`."""
    params = {"store_id": redemption.store_id, "member_id": redemption.member_id}
    return (await (await session.connection()).execute(_NAMES, params)).mappings().one()


def _used(*entities: Any) -> Any:
    """Committed and undone redemptions (what was used, and what was taken back), newest
    first."""
    return (
        select(*entities)
        .where(Redemption.status.in_([RedemptionStatus.committed, RedemptionStatus.undone]))
        .order_by(Redemption.committed_at.desc())
    )


async def list_for_store(
    session: AsyncSession, store_id: uuid.UUID, limit: int
) -> list[tuple[Redemption, User]]:
    """Recent redemptions at a store, with their members."""
    rows = await session.execute(
        _used(Redemption, User)
        .join(User, User.id == Redemption.member_id)
        .where(Redemption.store_id == store_id)
        .limit(limit)
    )
    return [(r, u) for r, u in rows]


async def list_for_member(
    session: AsyncSession, member_id: uuid.UUID, limit: int = 50, since: datetime | None = None
) -> list[tuple[Redemption, str]]:
    """A member's recent redemptions, with their stores' names."""
    stmt = (
        _used(Redemption, Store.name)
        .join(Store, Store.id == Redemption.store_id)
        .where(Redemption.member_id == member_id)
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(Redemption.committed_at > since)
    rows = await session.execute(stmt)
    return [(r, name) for r, name in rows]
