"""Small dialect bridges for the two databases we run on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_ignore(session: AsyncSession, model: Any, conflict_columns: Sequence[str]) -> Insert:
    """INSERT ... ON CONFLICT (cols) DO NOTHING for the session's dialect."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=conflict_columns)
    return sqlite.insert(model).on_conflict_do_nothing(index_elements=conflict_columns)


def rowcount(result: Result[Any]) -> int:
    """Rows touched by an INSERT/UPDATE/DELETE."""
    return int(getattr(result, "rowcount", 0) or 0)


def for_update_kwargs(session: AsyncSession, *, skip_locked: bool = False) -> dict[str, Any]:
    """SQLite has no row locks (its BEGIN IMMEDIATE serialises writers); PostgreSQL gets them."""
    if dialect_name(session) == "sqlite":
        return {}
    return {"skip_locked": skip_locked}
