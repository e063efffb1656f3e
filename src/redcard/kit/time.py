"""The one clock. Everything that asks "what time is it" asks `utc_now()`. Also the
programme's time zone, whose days are every business day (the channel's bill, settlement,
statements, reports, the console's dates), and hours as a person types them (`parse_hours`).

Tests move the clock with `freeze()` / `advance()`; nothing ever sleeps to let time pass.
Times are stored and computed in UTC; a person reads and types them in the programme's zone
(`set_zone`, from REDCARD_TIMEZONE, applied by the app, the worker and the CLI at start).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redcard.kit.money import NumberWords, parse_fixed

_frozen: datetime | None = None
DEFAULT_ZONE = "Asia/Shanghai"
_zone = ZoneInfo(DEFAULT_ZONE)


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


# -- the programme's time zone ----------------------------------------------------------------
def load_zone(name: str) -> ZoneInfo:
    """An IANA zone by name ("Asia/Shanghai"); ValueError names the setting when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"REDCARD_TIMEZONE: unknown time zone {name!r} (an IANA name, e.g. Asia/Shanghai)"
        ) from exc


def set_zone(name: str) -> None:
    """Make `name` the programme's zone (once at start; tests through `in_zone`)."""
    global _zone
    _zone = load_zone(name)


def zone() -> ZoneInfo:
    return _zone


@contextmanager
def in_zone(name: str) -> Iterator[None]:
    previous = _zone
    set_zone(name)
    try:
        yield
    finally:
        globals()["_zone"] = previous


def business_day(at: datetime) -> date:
    """The programme zone's calendar day that `at` falls on."""
    return as_utc(at).astimezone(_zone).date()


def today() -> date:
    return business_day(utc_now())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a business day, in UTC (a day of 23 or 25 hours where clocks change)."""
    start = datetime.combine(day, time(0), tzinfo=_zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=_zone).astimezone(UTC)
    return start, end


def business_days(start: datetime, end: datetime) -> list[date]:
    """Every business day from the one holding `start` to the one holding `end`, inclusive."""
    first, last = business_day(start), business_day(end)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def local_input(value: datetime) -> datetime:
    """A time a person typed without a zone is the programme zone's; one with a zone keeps it."""
    return value.replace(tzinfo=_zone) if value.tzinfo is None else value


def zone_label(at: datetime | None = None) -> str:
    """The zone as a person reads it beside a time: "UTC+8", "UTC+5:30", "UTC"."""
    offset = as_utc(at or utc_now()).astimezone(_zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def local_time(at: datetime | None, fmt: str = "%Y-%m-%d %H:%M", *, label: bool = True) -> str:
    """`at` in the programme's zone, followed by its zone ("2026-12-01 08:00 UTC+8")."""
    if at is None:
        return ""
    text = as_utc(at).astimezone(_zone).strftime(fmt)
    return f"{text} {zone_label(at)}" if label else text


def local_iso(at: datetime) -> str:
    """`at` in the programme's zone for files: "2026-12-01 23:30:00+08:00"."""
    return as_utc(at).astimezone(_zone).isoformat(sep=" ", timespec="seconds")


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
