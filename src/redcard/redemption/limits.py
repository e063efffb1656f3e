"""Code checks and their rate limits.

Wrong, expired, used and malformed codes all raise the same `InvalidCode`. Code checks are
rate-limited per till (terminal or staff login), per store and per IP. Only failures are
written (`code_failures`); crossing a limit writes a `code_locks` row (and sets
`terminals.locked_until`) and logs a warning. The happy path only reads the locks, in the
till's one read (`repository.read_till`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import InvalidInput, TooManyRequests
from redcard.kit.ids import new_id
from redcard.kit.sql import dialect_name
from redcard.kit.time import as_utc, utc_now
from redcard.models import CodeFailure, CodeLock, Terminal
from redcard.redemption.till import Till

log = logging.getLogger(__name__)

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


def scopes(till: Till, store_id: uuid.UUID) -> list[str]:
    """The keys code checks are counted and locked by: this till, its store, its IP."""
    return [till.key, f"store:{store_id}", f"ip:{till.ip}"]


def check_not_locked(locked_until: datetime | None, now: datetime) -> None:
    if locked_until is not None:
        seconds = max(1, int((as_utc(locked_until) - now).total_seconds()))
        raise TillLocked(f"too many invalid codes; code checks are paused for {seconds} s")


async def _lock(session: AsyncSession, scope_key: str, until: datetime, reason: str) -> None:
    values = {"scope_key": scope_key, "locked_until": until, "reason": reason}
    changes = {"locked_until": until, "reason": reason}
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    upsert = dialect.insert(CodeLock).values(values)
    await session.execute(upsert.on_conflict_do_update(index_elements=["scope_key"], set_=changes))


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
    for scope_key, seen, limit in zip(scopes(till, store_id), counts, limits, strict=True):
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
