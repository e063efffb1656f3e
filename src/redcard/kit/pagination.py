"""Long lists: one page of a query with the total it is a page of, and a search term as a
LIKE pattern. A list a person reads is paged and says how long it is; it never stops silently
at some number of rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
MAX_PAGE = 1_000_000  # a larger ?page= is a typo or a probe; it reads the last page anyway


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int  # rows in the whole list
    number: int  # 1-based
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first(self) -> int:
        """The position of the page's first row in the list (1-based; 0 when it is empty)."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0


def page_number(text: str | None) -> int:
    """A ?page= value as a page number: anything that is not a positive integer is page 1."""
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit():
        return 1
    return max(1, min(int(value[:7]), MAX_PAGE))


async def paginate(session: AsyncSession, stmt: Select[Any], number: int, size: int) -> Page[Any]:
    """Page `number` of an ordered query of one entity, `size` rows a page, with the count of
    the whole list. A page past the end reads the last page."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    total = int(total or 0)
    number = max(1, min(number, -(-total // size) or 1))
    items = (await session.scalars(stmt.limit(size).offset((number - 1) * size))).all()
    return Page(items=items, total=total, number=number, size=size)


def contains_pattern(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, its own % and _ taken literally (use with
    `escape="\\\\"`)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
