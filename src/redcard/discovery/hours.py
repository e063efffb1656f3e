"""Opening hours: OpenStreetMap's `opening_hours` syntax, read in the store's own zone.

A store keeps its hours as one OSM expression ("Mo-Fr 10:00-14:00,17:00-02:00; Sa 10:00-22:00"):
the format the store data comes in, read by the `opening-hours-py` parser. A break is two
ranges on one day; overnight hours end past midnight ("17:00-02:00", which the parser keeps as
"17:00-26:00"). The merchant's editor writes only the days a store opens: in OSM a day's rule
replaces the whole day, so "Sa off" would also cut Friday night's hours after midnight (and a
Saturday with hours of its own gets Friday night's small hours written on it).

"Open now" is asked in the store's zone (`Store.timezone`, else the programme's), at the one
clock's time, so a test that moves the clock moves it here too.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import opening_hours

from redcard.errors import InvalidInput
from redcard.kit import time as clock

MAX_LENGTH = 500  # the column's width
UNREADABLE = "these opening hours are not in a form we can read; write them like 10:00-22:00"
TOO_LONG = "opening hours are too long; write at most 500 characters"
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
        raise BadHours(UNREADABLE) from exc
    if len(normal) > MAX_LENGTH:
        raise BadHours(TOO_LONG)
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


# -- the merchant's weekly form ---------------------------------------------------------------
# A week as the editor shows it: weekday (0 = Monday) -> up to MAX_RANGES open ranges, each
# ("HH:MM", "HH:MM"). A range ending at or before its start is overnight (it ends the next
# day); "24:00" ends a range at midnight. A closed day has no ranges (and no key, or []).
Week = dict[int, list[tuple[str, str]]]
MAX_RANGES = 3
DAY = 24 * 60
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")

BAD_TIME = "write each time as HH:MM, for example 09:30 or 21:00"
TOO_MANY_RANGES = "a day has at most 3 open ranges"
OVERLAP = "two open ranges on one day overlap; a break goes between them"
NO_WEEKDAY = "the days of the week are Monday to Sunday"
NIGHT_OVERLAP = "a night's hours run past the start of the next day's first range"


def minutes(text: str, *, end: bool = False) -> int:
    """ "HH:MM" as minutes after midnight; "24:00" only as an end. BadHours otherwise."""
    found = _CLOCK.match(text.strip())
    if not found:
        raise BadHours(BAD_TIME)
    hour, minute = int(found.group(1)), int(found.group(2))
    if minute > 59 or hour > 24 or (hour == 24 and (minute or not end)):
        raise BadHours(BAD_TIME)
    return hour * 60 + minute


def _clock(value: int) -> str:
    return f"{value // 60:02d}:{value % 60:02d}"


def _spans(ranges: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """One day's ranges as (start, end) minutes, sorted, an overnight end past 24:00 (so
    "17:00-02:00" is (1020, 1560)); refuses bad times, too many ranges and overlaps."""
    if len(ranges) > MAX_RANGES:
        raise BadHours(TOO_MANY_RANGES)
    spans = []
    for start_text, end_text in ranges:
        start, end = minutes(start_text), minutes(end_text, end=True)
        if start == DAY:
            raise BadHours(BAD_TIME)
        if end == 0 and start > 0:
            end = DAY  # "18:00-00:00" ends at midnight
        elif end <= start:
            end += DAY  # overnight (a 24-hour range when end == start)
        spans.append((start, end))
    spans.sort()
    for (_, before), (after, _) in zip(spans, spans[1:], strict=False):
        if after < before:
            raise BadHours(OVERLAP)
    return spans


def _osm_span(start: int, end: int) -> str:
    # OSM writes an overnight end as the next day's clock ("17:00-02:00"), a midnight as 24:00
    return f"{_clock(start)}-{_clock(end - DAY) if end > DAY else _clock(end)}"


def _day_list(days: list[int]) -> str:
    """Weekdays as OSM writes them: runs with a dash, the rest with commas ("Mo-Fr,Su")."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        WEEKDAYS[run[0]] if len(run) == 1 else f"{WEEKDAYS[run[0]]}-{WEEKDAYS[run[-1]]}"
        for run in runs
    )


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _carry_nights(by_day: dict[int, list[tuple[int, int]]]) -> None:
    """Write a night's hours past midnight on the next day where that day has a rule of its
    own: in OSM (and in our parser) the next day's rule replaces the whole of that day, the
    small hours of the night before included, so "Fr 17:00-02:00; Sa 10:00-22:00" closes at
    midnight on Friday; "Fr 17:00-24:00; Sa 00:00-02:00,10:00-22:00" does not. Days with the
    same ranges share one rule, which keeps its nights (a split can part two days that shared
    one, so this runs until nothing changes)."""
    changed = True
    while changed:
        changed = False
        for day in sorted(by_day):
            after = (day + 1) % 7
            start, end = by_day[day][-1]
            if end > DAY and after in by_day and by_day[after] != by_day[day]:
                by_day[day][-1] = (start, DAY)
                by_day[after] = _merged([(0, end - DAY), *by_day[after]])
                changed = True


def from_week(days: Week) -> str | None:
    """The weekly form as stored OSM text (normalized), None when closed every day. Only the
    open days are written: a later "off" rule would cut the previous night's hours (and a
    night running into an open day is written on both, `_carry_nights`)."""
    if any(day not in range(7) for day in days):
        raise BadHours(NO_WEEKDAY)
    by_day = {day: spans for day in sorted(days) if (spans := _spans(days[day]))}
    for day, spans in by_day.items():
        following = by_day.get((day + 1) % 7)
        if following and spans[-1][1] - DAY > following[0][0]:
            raise BadHours(NIGHT_OVERLAP)
    _carry_nights(by_day)
    same: dict[str, list[int]] = {}  # days with the same ranges share one rule
    for day, spans in by_day.items():
        same.setdefault(",".join(_osm_span(*span) for span in spans), []).append(day)
    rules = sorted(same.items(), key=lambda item: item[1][0])
    return normalize("; ".join(f"{_day_list(d)} {times}" for times, d in rules))


def _reference_monday() -> datetime:
    today = clock.today()
    monday = today - timedelta(days=today.weekday())
    return datetime(monday.year, monday.month, monday.day)  # naive: the store's wall clock


def to_week(text: str | None) -> Week:
    """The weekly form of stored hours: this week's open ranges per weekday (see `fits_week`
    for whether that is all the text says). A range runs at most 24 hours: a longer opening
    (24/7) is cut at midnight into days 00:00-24:00."""
    week: Week = {day: [] for day in range(7)}
    if not text:
        return week
    monday = _reference_monday()
    try:
        hours = opening_hours.OpeningHours(text)
    except opening_hours.ParserError as exc:  # type: ignore[attr-defined]
        raise BadHours(UNREADABLE) from exc
    # from the day before, so Sunday night's hours past midnight stay last week's Sunday
    spans = hours.intervals(monday - timedelta(days=1), monday + timedelta(days=8))
    for begin, end, state, _comment in spans:
        if state != opening_hours.State.OPEN:
            continue
        at = begin
        while at < end:
            midnight = datetime(at.year, at.month, at.day) + timedelta(days=1)
            stop = end if end - at <= timedelta(days=1) else min(end, midnight)
            if monday <= at < monday + timedelta(days=7):
                closes = "24:00" if stop == midnight else stop.strftime("%H:%M")
                week[at.weekday()].append((at.strftime("%H:%M"), closes))
            at = stop
    return week


def fits_week(text: str | None) -> bool:
    """Whether the weekly form says all that `text` says, so the editor may rewrite it
    from the form: the same open and closed times every day for a year ahead, and no
    holidays, seasons or comments that the form has no place for."""
    if not text:
        return True
    if re.search(r"\b(PH|SH|easter)\b", text):
        return False
    try:
        rewritten = from_week(to_week(text))
    except InvalidInput:
        return False
    if rewritten is None:
        return not any(
            state == opening_hours.State.OPEN or comment for _, _, state, comment in _year(text)
        )
    return _year(text) == _year(rewritten)


def _year(text: str) -> list[tuple[datetime, datetime, str, str]]:
    start = _reference_monday()
    spans = opening_hours.OpeningHours(text).intervals(start, start + timedelta(days=371))
    return [(begin, end, str(state), comment) for begin, end, state, comment in spans]


def summary(text: str | None) -> list[tuple[list[int], list[tuple[str, str, bool]]]]:
    """The hours in words, as pages list them: runs of weekdays with the same ranges, each
    range (start, end, overnight) ("Mo-Fr 10:00-22:00"), closed runs with no ranges."""
    try:
        week = to_week(text)
    except BadHours:
        return []  # stored before validation existed: pages show the text as it is
    out: list[tuple[list[int], list[tuple[str, str, bool]]]] = []
    for day in range(7):
        ranges = [(s, e, e != "24:00" and minutes(e, end=True) <= minutes(s)) for s, e in week[day]]
        if out and out[-1][1] == ranges:
            out[-1][0].append(day)
        else:
            out.append(([day], ranges))
    return out
