"""Who is at the till and where they may act: a terminal (its API key, bound to one store) or
a logged-in merchant_staff user (at the stores `merchants.access` gives them)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Forbidden, InvalidInput
from redcard.kit.rawpg import HotStatement
from redcard.merchants import access
from redcard.models import Redemption, Terminal, User


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


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


_TERMINAL = HotStatement(
    select(Terminal.id, Terminal.store_id).where(
        Terminal.api_key_hash == bindparam("key_hash"), Terminal.revoked_at.is_(None)
    )
)


async def find_terminal(session: AsyncSession, api_key: str) -> TerminalRef | None:
    """The live terminal with this API key (every till call looks it up: a hot statement)."""
    row = await _TERMINAL.fetchrow(session, {"key_hash": hash_api_key(api_key)})
    return None if row is None else TerminalRef(row["id"], row["store_id"])


def redemption_scope(till: Till) -> ColumnElement[bool]:
    """SQL condition: the redemption's store is one this till may work at."""
    if till.terminal is not None:
        return Redemption.store_id == till.terminal.store_id
    assert till.staff is not None
    return Redemption.store_id.in_(access.store_ids_query(till.staff.id))


async def store_id_for(session: AsyncSession, till: Till, store_id: uuid.UUID | None) -> uuid.UUID:
    """The store this till works at: a terminal's own, or one the staff member may act on."""
    if till.terminal is not None:
        if store_id is not None and store_id != till.terminal.store_id:
            raise Forbidden("this terminal belongs to another store")
        return till.terminal.store_id
    if store_id is None:
        raise InvalidInput("choose a store")
    assert till.staff is not None
    if not await access.may_act_at(session, till.staff, store_id):
        raise Forbidden("you are not staff at this store")
    return store_id
