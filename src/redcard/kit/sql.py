"""Small dialect bridges for the two databases we run on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignore(
    session: AsyncSession, table: Table, conflict_columns: Sequence[str]
) -> Insert:
    """INSERT ... ON CONFLICT (cols) DO NOTHING for the session's dialect."""
    if session.bind.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict_columns)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict_columns)


def dialect_name(session: AsyncSession) -> str:
    return session.bind.dialect.name


def for_update_kwargs(session: AsyncSession, *, skip_locked: bool = False) -> dict[str, Any]:
    """SQLite has no row locks (its BEGIN IMMEDIATE serialises writers); PostgreSQL gets them."""
    if dialect_name(session) == "sqlite":
        return {}
    return {"skip_locked": skip_locked}
