"""Opening hours: OpenStreetMap's `opening_hours` syntax, read in the store's own zone.

A store keeps its hours as one OSM expression ("Mo-Fr 10:00-14:00,17:00-02:00; Sa 10:00-22:00"):
the format the store data comes in, read by the `opening-hours-py` parser. A break is two
ranges on one day; overnight hours end past midnight ("17:00-02:00", which the parser keeps as
"17:00-26:00"). The merchant's editor writes only the days a store opens: in OSM a later rule
replaces a whole day, so "Sa off" would also cut Friday night's hours after midnight.

"Open now" is asked in the store's zone (`Store.timezone`, else the programme's), at the one
clock's time, so a test that moves the clock moves it here too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import opening_hours

from redcard.errors import InvalidInput
from redcard.kit import time as clock

MAX_LENGTH = 200  # the column's width
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")


class BadHours(InvalidInput):
    pass


def store_zone(timezone: str | None) -> ZoneInfo:
    """The zone a store's hours are read in: its own, else the programme's."""
    return clock.load_zone(timezone) if timezone else clock.zone()


@lru_cache(maxsize=4096)
def _parsed(text: str, timezone: str | None) -> opening_hours.OpeningHours:
    return opening_hours.OpeningHours(text, timezone=store_zone(timezone))


def normalize(text: str | None) -> str | None:
    """A merchant's hours as stored: the parser's normal form, or None when empty. Anything
    the parser cannot read is refused with the reason (422), so no store keeps hours that
    "open now" could not answer for."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        normal = str(opening_hours.OpeningHours(text).normalize())
    except opening_hours.ParserError as exc:  # type: ignore[attr-defined]  # not in its stub
        raise BadHours(f"opening hours are not in a form we can read: {text!r}") from exc
    if len(normal) > MAX_LENGTH:
        raise BadHours("opening hours are too long; write at most 200 characters")
    return normal


def is_open(text: str | None, timezone: str | None, at: datetime | None = None) -> bool | None:
    """Whether a store is open at `at` (default: now). None when its hours are unknown."""
    if not text:
        return None
    try:
        hours = _parsed(text, timezone)
    except opening_hours.ParserError:  # type: ignore[attr-defined]
        return None  # stored before validation existed: unknown, never a crash
    moment = (at or clock.utc_now()).astimezone(store_zone(timezone))
    return bool(hours.is_open(moment))


def day_ranges(
    text: str | None, timezone: str | None, day: date
) -> list[tuple[datetime, datetime]]:
    """The open ranges that start on one local day, in the store's zone (an overnight range
    runs into the next day)."""
    if not text:
        return []
    zone = store_zone(timezone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    hours = _parsed(text, timezone)
    ranges = []
    # from the day before, so last night's hours past midnight stay last night's
    spans = hours.intervals(start - timedelta(days=1), start + timedelta(days=2))
    for begin, end, state, _comment in spans:
        if state == opening_hours.State.OPEN and start <= begin < start + timedelta(days=1):
            ranges.append((begin, end))
    return ranges


def week(
    text: str | None, timezone: str | None, monday: date
) -> list[tuple[date, list[tuple[datetime, datetime]]]]:
    """The seven days from `monday` and each one's open ranges: what a store page lists."""
    return [
        (monday + timedelta(days=n), day_ranges(text, timezone, monday + timedelta(days=n)))
        for n in range(7)
    ]
