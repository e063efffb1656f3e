"""The one clock. Everything that asks "what time is it" asks `utc_now()`.

Tests move the clock with `freeze()` / `advance()`; nothing ever sleeps to let time pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None


def utc_now() -> datetime:
    """Current time, tz-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Normalise a datetime read back from a database that drops tz info (SQLite)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def freeze(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("the clock only holds tz-aware datetimes")
    global _frozen
    _frozen = at.astimezone(UTC)


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward (freezing it at now first if it runs)."""
    global _frozen
    _frozen = utc_now() + delta
    return _frozen


def unfreeze() -> None:
    global _frozen
    _frozen = None


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    previous = _frozen
    freeze(at)
    try:
        yield
    finally:
        globals()["_frozen"] = previous
