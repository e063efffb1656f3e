"""The one clock. Everything that asks "what time is it" asks `utc_now()`. Also hours as a
person types them (`parse_hours`).

Tests move the clock with `freeze()` / `advance()`; nothing ever sleeps to let time pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from redcard.kit.money import NumberWords, parse_fixed

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


HOURS_WORDS = NumberWords(
    malformed="enter a number of hours with at most two decimals, e.g. 2.5",
    negative="a number of hours must not be negative",
    comma='write hours with "." as the decimal point, e.g. 2.5',
    too_large="enter at most 8784 hours (a year)",
)


def parse_hours(text: str) -> timedelta:
    """Hours as a person typed them ("2", "1.5", "１．７５"), exactly: no float on the way.
    At most two decimals and a year (more is a typo, and past the calendar's end a date
    overflows). Grammar and refusals: `kit.money.parse_fixed`; raises MoneyError."""
    hundredths = parse_fixed(text, 2, maximum=366 * 24 * 100, words=HOURS_WORDS)
    return timedelta(hours=1) * hundredths / 100
