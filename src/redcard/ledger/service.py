"""Posting and checking. `post()` refuses any entry that does not balance."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import AppError
from redcard.kit import rawpg
from redcard.kit.ids import new_id
from redcard.kit.sql import dialect_name, insert_ignore, insert_rows
from redcard.kit.time import utc_now
from redcard.models import JournalEntry, JournalLine, LedgerAccount

_UPSERT_CHUNK = 1000


class UnbalancedEntry(AppError):
    status_code = 500


@dataclass(frozen=True, slots=True)
class Line:
    account: str
    amount_fen: int
    owner: str = ""  # member or merchant id for per-owner accounts; "" for platform accounts


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    ref: str
    lines: Sequence[Line]
    memo: str | None = None


def _validate(entry: Entry) -> None:
    if len(entry.lines) < 2:
        raise UnbalancedEntry(f"entry {entry.kind}/{entry.ref} needs at least two lines")
    if sum(line.amount_fen for line in entry.lines) != 0:
        raise UnbalancedEntry(f"entry {entry.kind}/{entry.ref} does not balance")
    if any(not isinstance(line.amount_fen, int) for line in entry.lines):
        raise UnbalancedEntry("amounts are integer fen")


def _deltas(entries: Sequence[Entry]) -> dict[tuple[str, str], int]:
    """Validate each entry; the net amount per (account, owner) over all of them."""
    deltas: dict[tuple[str, str], int] = defaultdict(int)
    for entry in entries:
        _validate(entry)
        for line in entry.lines:
            deltas[(line.account, line.owner)] += line.amount_fen
    return deltas


def summarise(kind: str, ref: str, entries: Sequence[Entry], memo: str | None = None) -> Entry:
    """One entry for a batch of like movements: each (account, owner)'s lines summed, zero
    sums dropped. It balances when they do. The batch's rows (refunds, say) are the subledger:
    each row keeps the ref of the entry that covers it."""
    sums = _deltas(entries)
    lines = [Line(a, fen, owner) for (a, owner), fen in sorted(sums.items()) if fen]
    return Entry(kind=kind, ref=ref, lines=lines, memo=memo)


async def post(session: AsyncSession, entry: Entry) -> None:
    await post_many(session, [entry])


def _upsert(dialect_name_: str) -> Any:
    """INSERT ... ON CONFLICT (code, owner_key) DO UPDATE SET balance += excluded RETURNING,
    built once per dialect so SQLAlchemy compiles it once (rows go as executemany parameters,
    which SQLAlchemy batches into one multi-row statement)."""
    dialect: Any = postgresql if dialect_name_ == "postgresql" else sqlite
    stmt = dialect.insert(LedgerAccount)
    return stmt.on_conflict_do_update(
        index_elements=["code", "owner_key"],
        set_={"balance_fen": LedgerAccount.balance_fen + stmt.excluded.balance_fen},
    ).returning(LedgerAccount.code, LedgerAccount.owner_key, LedgerAccount.id)


_UPSERTS = {name: _upsert(name) for name in ("postgresql", "sqlite")}


async def _apply_deltas(
    session: AsyncSession, deltas: dict[tuple[str, str], int]
) -> dict[tuple[str, str], uuid.UUID]:
    """Create missing accounts and move balances in ONE upsert per chunk
    (INSERT ... ON CONFLICT DO UPDATE SET balance = balance + delta RETURNING id), rows in
    (code, owner) order so concurrent posters lock accounts in the same order."""
    ids: dict[tuple[str, str], uuid.UUID] = {}
    keys = sorted(deltas)
    stmt = _UPSERTS[dialect_name(session)]
    for start in range(0, len(keys), _UPSERT_CHUNK):
        rows = [
            {"id": new_id(), "code": code, "owner_key": owner, "balance_fen": deltas[(code, owner)]}
            for code, owner in keys[start : start + _UPSERT_CHUNK]
        ]
        for code, owner, account_id in await session.execute(stmt, rows):
            ids[(code, owner)] = account_id
    return ids


async def post_many(
    session: AsyncSession, entries: Sequence[Entry], *, balances_last: bool = False
) -> None:
    """Post balanced entries: one upsert moves every touched account's balance (see
    `_apply_deltas`), then one INSERT for the entries and one for their lines.

    `balances_last=True` (batch workers) writes the entries and lines first and moves the
    balances last, so the account rows, which every poster shares, stay locked only from
    the end of the posting to the commit, not while thousands of lines are written."""
    if not entries:
        return
    deltas = _deltas(entries)
    if balances_last:
        ids = await _account_ids(session, set(deltas))
    else:
        ids = await _apply_deltas(session, deltas)
    now = utc_now()
    entry_rows, line_rows = [], []
    for entry in entries:
        entry_id = new_id()
        entry_rows.append(
            {
                "id": entry_id,
                "kind": entry.kind,
                "ref": entry.ref,
                "memo": entry.memo,
                "posted_at": now,
            }
        )
        for line in entry.lines:
            line_rows.append(
                {
                    "id": new_id(),
                    "entry_id": entry_id,
                    "account_id": ids[(line.account, line.owner)],
                    "amount_fen": line.amount_fen,
                }
            )
    await insert_rows(session, JournalEntry.__table__, entry_rows)  # type: ignore[arg-type]
    await insert_rows(session, JournalLine.__table__, line_rows)  # type: ignore[arg-type]
    if balances_last:
        await _apply_deltas(session, deltas)


async def _account_ids(
    session: AsyncSession, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], uuid.UUID]:
    """The accounts' ids without locking them; missing accounts are created at balance 0
    (INSERT ... ON CONFLICT DO NOTHING, so a concurrent creator wins and we read its row)."""
    ids: dict[tuple[str, str], uuid.UUID] = {}
    ordered = sorted(keys)
    for attempt in range(2):
        missing = [k for k in ordered if k not in ids]
        for start in range(0, len(missing), _UPSERT_CHUNK):
            chunk = missing[start : start + _UPSERT_CHUNK]
            for code, owner, account_id in await session.execute(
                select(LedgerAccount.code, LedgerAccount.owner_key, LedgerAccount.id).where(
                    tuple_(LedgerAccount.code, LedgerAccount.owner_key).in_(chunk)
                )
            ):
                ids[(code, owner)] = account_id
        missing = [k for k in ordered if k not in ids]
        if not missing or attempt:
            break
        await session.execute(
            insert_ignore(session, LedgerAccount, ["code", "owner_key"]),
            [{"id": new_id(), "code": c, "owner_key": o, "balance_fen": 0} for c, o in missing],
        )
    return ids


async def balance(session: AsyncSession, account: str, owner: str = "") -> int:
    value = await session.scalar(
        select(LedgerAccount.balance_fen).where(
            LedgerAccount.code == account, LedgerAccount.owner_key == owner
        )
    )
    return int(value or 0)


# A subledger's check: the refs of entries whose lines disagree with the rows they cover
# (e.g. a batch of refunds posted as one entry). Registered by the module that owns the rows.
SubledgerCheck = Callable[[AsyncSession], Awaitable[list[str]]]
_subledgers: dict[str, SubledgerCheck] = {}


def register_subledger(name: str, check_rows: SubledgerCheck) -> None:
    _subledgers[name] = check_rows


@dataclass
class CheckReport:
    entries: int
    accounts: int
    unbalanced_entries: list[str]
    short_entries: list[str]
    drifted_accounts: list[str]
    subledger_differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.unbalanced_entries
            or self.short_entries
            or self.drifted_accounts
            or self.subledger_differences
        )


async def check(session: AsyncSession) -> CheckReport:
    """Prove every entry balances, every stored balance equals the sum of its lines, and every
    registered subledger agrees with the entries that cover its rows."""
    entries = await session.scalar(select(func.count()).select_from(JournalEntry)) or 0
    accounts = await session.scalar(select(func.count()).select_from(LedgerAccount)) or 0
    per_entry = (
        select(
            JournalEntry.kind,
            JournalEntry.ref,
            func.coalesce(func.sum(JournalLine.amount_fen), 0).label("total"),
            func.count(JournalLine.id).label("n"),
        )
        .outerjoin(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .group_by(JournalEntry.id, JournalEntry.kind, JournalEntry.ref)
    ).subquery()
    unbalanced = await session.execute(
        select(per_entry.c.kind, per_entry.c.ref).where(per_entry.c.total != 0)
    )
    short = await session.execute(
        select(per_entry.c.kind, per_entry.c.ref).where(per_entry.c.n < 2)
    )
    sums = (
        select(JournalLine.account_id, func.sum(JournalLine.amount_fen).label("total"))
        .group_by(JournalLine.account_id)
        .subquery()
    )
    drifted = await session.execute(
        select(LedgerAccount.code, LedgerAccount.owner_key)
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.balance_fen != func.coalesce(sums.c.total, 0))
    )
    return CheckReport(
        entries=int(entries),
        accounts=int(accounts),
        unbalanced_entries=[f"{k}/{r}" for k, r in unbalanced],
        short_entries=[f"{k}/{r}" for k, r in short],
        drifted_accounts=[f"{c}:{o}" if o else c for c, o in drifted],
        subledger_differences=[
            f"{name}: {ref}" for name, rows in _subledgers.items() for ref in await rows(session)
        ],
    )


# One posting in one statement on PostgreSQL: the balances' upsert, the entry and its lines
# as data-modifying CTEs. The lines' foreign keys are checked at the end of the statement,
# when the entry and any new account exist. The accounts are upserted in (code, owner) order,
# as `_apply_deltas` does, so concurrent posters lock them in the same order.
_POST_ONE_PG = """\
WITH accounts AS (
    INSERT INTO ledger_accounts (id, code, owner_key, balance_fen)
    SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::bigint[])
    ON CONFLICT (code, owner_key)
    DO UPDATE SET balance_fen = ledger_accounts.balance_fen + excluded.balance_fen
    RETURNING id, code, owner_key
), entry AS (
    INSERT INTO journal_entries (id, kind, ref, memo, posted_at) VALUES ($5, $6, $7, $8, $9)
    RETURNING id
)
INSERT INTO journal_lines (id, entry_id, account_id, amount_fen)
SELECT line.id, entry.id, accounts.id, line.amount_fen
FROM unnest($10::uuid[], $11::varchar[], $12::varchar[], $13::bigint[])
    AS line (id, code, owner_key, amount_fen)
JOIN accounts ON accounts.code = line.code AND accounts.owner_key = line.owner_key
CROSS JOIN entry"""


async def post_one(session: AsyncSession, entry: Entry) -> None:
    """`post()` for one entry; on PostgreSQL in one round trip on the request's asyncpg
    connection (the hot path's memo entry: `redemption/service.commit`), the same rows."""
    raw = await rawpg.connection(session)
    if raw is None:
        await post(session, entry)
        return
    deltas = _deltas([entry])
    keys = sorted(deltas)
    lines = entry.lines
    written = await rawpg.execute(
        raw,
        _POST_ONE_PG,
        [new_id() for _ in keys],
        [code for code, _ in keys],
        [owner for _, owner in keys],
        [deltas[k] for k in keys],
        new_id(),
        entry.kind,
        entry.ref,
        entry.memo,
        utc_now(),
        [new_id() for _ in lines],
        [line.account for line in lines],
        [line.owner for line in lines],
        [line.amount_fen for line in lines],
    )
    if written != len(lines):  # pragma: no cover - every line's account was just upserted
        raise UnbalancedEntry(f"entry {entry.kind}/{entry.ref}: {written} of {len(lines)} lines")
