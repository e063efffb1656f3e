"""Assertions shared by tests."""

from __future__ import annotations

from sqlalchemy import func, select

from redcard.db import Database
from redcard.ledger.service import check


async def assert_ledger_ok(db: Database) -> None:
    async with db.session_scope() as session:
        report = await check(session)
    assert report.ok, report


async def count(db: Database, model: type) -> int:
    async with db.session_scope() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
