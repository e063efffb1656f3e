"""Opening hours as a member reads them ("open now") and as a merchant writes them (the weekly
form, saved as OpenStreetMap text): overnight hours, breaks, the day boundary, the store's own
time zone, and a clock moved by the test."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from redcard.discovery import hours
from redcard.kit import time as clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY = date(2026, 12, 4)  # a Friday; Saturday is the 5th, Monday the 7th


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


@pytest.fixture(autouse=True)
def _programme_in_shanghai():
    with clock.in_zone("Asia/Shanghai"):
        yield


def test_friday_night_hours_run_past_midnight_into_saturday():
    text = hours.normalize("Fr 17:00-02:00")
    saturday = date(2026, 12, 5)
    assert hours.is_open(text, None, local(FRIDAY, 16, 59)) is False
    assert hours.is_open(text, None, local(FRIDAY, 23, 30)) is True
    assert hours.is_open(text, None, local(saturday, 1, 0)) is True
    assert hours.is_open(text, None, local(saturday, 3, 0)) is False
    assert hours.is_open(text, None, local(saturday, 18, 0)) is False  # only Friday nights
    ((start, end),) = hours.day_ranges(text, None, FRIDAY)
    assert (start, end) == (local(FRIDAY, 17), local(saturday, 2))
    assert hours.day_ranges(text, None, saturday) == []  # Friday's night stays Friday's


def test_a_lunch_break_closes_the_store_between_its_two_ranges():
    text = hours.from_week({d: [("10:00", "14:00"), ("17:00", "22:00")] for d in range(7)})
    assert text == "10:00-14:00,17:00-22:00"
    assert hours.is_open(text, None, local(FRIDAY, 13, 59)) is True
    assert hours.is_open(text, None, local(FRIDAY, 14, 30)) is False
    assert hours.is_open(text, None, local(FRIDAY, 17, 0)) is True
    assert hours.is_open(text, None, local(FRIDAY, 22, 0)) is False


def test_the_day_boundary_at_midnight():
    monday, tuesday = date(2026, 12, 7), date(2026, 12, 8)
    text = hours.from_week({0: [("18:00", "00:00")]})  # "until midnight", not overnight
    assert text == "Mo 18:00-24:00"
    assert hours.is_open(text, None, local(monday, 23, 59)) is True
    assert hours.is_open(text, None, local(tuesday, 0, 0)) is False
    early = hours.from_week({1: [("00:00", "06:00")]})  # Tuesday's small hours
    assert hours.is_open(early, None, local(monday, 23, 59)) is False
    assert hours.is_open(early, None, local(tuesday, 0, 0)) is True


def test_open_now_follows_the_moved_clock_in_the_programme_zone():
    text = "10:00-22:00"
    with clock.frozen(datetime(2026, 12, 1, 1, 30, tzinfo=UTC)):  # 09:30 in Shanghai
        assert hours.is_open(text, None) is False
    with clock.frozen(datetime(2026, 12, 1, 2, 30, tzinfo=UTC)):  # 10:30 in Shanghai
        assert hours.is_open(text, None) is True
    with clock.frozen(datetime(2026, 12, 1, 14, 0, tzinfo=UTC)):  # 22:00 in Shanghai
        assert hours.is_open(text, None) is False


def test_open_now_is_read_in_a_store_s_own_time_zone():
    text = "10:00-22:00"
    with clock.frozen(datetime(2026, 12, 1, 2, 30, tzinfo=UTC)):  # Shanghai 10:30, London 02:30
        assert hours.is_open(text, None) is True
        assert hours.is_open(text, "Europe/London") is False
    with clock.frozen(datetime(2026, 12, 1, 15, 0, tzinfo=UTC)):  # Shanghai 23:00, London 15:00
        assert hours.is_open(text, None) is False
        assert hours.is_open(text, "Europe/London") is True
    with clock.frozen(datetime(2026, 7, 1, 9, 30, tzinfo=UTC)):  # London summer time: 10:30
        assert hours.is_open(text, "Europe/London") is True
    with clock.frozen(datetime(2026, 12, 1, 9, 30, tzinfo=UTC)):  # London winter time: 09:30
        assert hours.is_open(text, "Europe/London") is False


def test_unknown_hours_are_neither_open_nor_closed():
    assert hours.is_open(None, None) is None
    assert hours.is_open("", "Europe/London") is None


def _random_week(rng: random.Random) -> hours.Week:
    """A week a merchant could type: up to three ranges a day with gaps between them, the
    last one sometimes overnight (ending before the next day's first range)."""
    week: hours.Week = {}
    for day in range(7):
        count = rng.choice([0, 1, 1, 2, 2, 3] if day == 0 else [0, 1, 1, 2])  # within 200 chars
        points = sorted(rng.sample(range(28, 92), count * 2))  # quarter hours 07:00-22:45
        ranges = [
            (f"{a // 4:02d}:{a % 4 * 15:02d}", f"{b // 4:02d}:{b % 4 * 15:02d}")
            for a, b in zip(points[::2], points[1::2], strict=True)
        ]
        if ranges and rng.random() < 0.3:
            ranges[-1] = (ranges[-1][0], f"0{rng.randint(0, 5)}:30")  # ends the next morning
        if ranges:
            week[day] = ranges
    return week


def test_the_weekly_form_and_the_osm_text_round_trip():
    rng = random.Random(15)
    for _ in range(200):
        week = _random_week(rng)
        text = hours.from_week(week)
        assert hours.to_week(text) == {d: week.get(d, []) for d in range(7)}, text
        assert hours.from_week(hours.to_week(text)) == text
        assert hours.fits_week(text)


def test_the_form_writes_only_open_days_so_friday_night_survives():
    text = hours.from_week(
        {0: [("10:00", "14:00"), ("17:00", "22:00")], 4: [("17:00", "02:00")], 5: []}
    )
    assert text == "Mo 10:00-14:00,17:00-22:00; Fr 17:00-02:00"
    assert hours.is_open(text, None, local(date(2026, 12, 5), 1, 0)) is True
    assert hours.from_week({}) is None
    assert hours.from_week({d: [] for d in range(7)}) is None


def test_every_day_the_same_is_written_once_and_24_7_is_whole_days():
    assert hours.from_week({d: [("08:00", "21:00")] for d in range(7)}) == "08:00-21:00"
    assert hours.from_week({d: [("08:00", "21:00")] for d in range(5)}) == "Mo-Fr 08:00-21:00"
    assert hours.from_week({d: [("00:00", "00:00")] for d in range(7)}) == "24/7"
    assert hours.to_week("24/7")[3] == [("00:00", "24:00")]
    assert hours.to_week("Mo 10:00-10:00")[0] == [("10:00", "10:00")]  # 24 hours from 10:00


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ({0: [("9:3", "18:00")]}, hours.BAD_TIME),
        ({0: [("25:00", "18:00")]}, hours.BAD_TIME),
        ({0: [("24:00", "18:00")]}, hours.BAD_TIME),  # 24:00 only ends a range
        ({0: [("10:00", "18:60")]}, hours.BAD_TIME),
        ({0: [("10:00", "14:00"), ("13:00", "22:00")]}, hours.OVERLAP),
        ({0: [("17:00", "02:00"), ("20:00", "22:00")]}, hours.OVERLAP),
        (
            {0: [("08:00", "09:00"), ("10:00", "11:00"), ("12:00", "13:00"), ("14:00", "15:00")]},
            hours.TOO_MANY_RANGES,
        ),
        ({7: [("10:00", "18:00")]}, hours.NO_WEEKDAY),
        ({4: [("17:00", "03:00")], 5: [("02:00", "10:00")]}, hours.NIGHT_OVERLAP),
        ({6: [("20:00", "10:00")], 0: [("08:00", "12:00")]}, hours.NIGHT_OVERLAP),
    ],
)
def test_a_week_that_cannot_be_right_is_refused_with_the_reason(week, message):
    with pytest.raises(hours.BadHours) as refused:
        hours.from_week(week)
    assert refused.value.message == message
    assert refused.value.status_code == 422


@pytest.mark.parametrize("text", ["sometimes", "Mo 25:00-26:00", "10:00-", "Mo-Xx 10:00-12:00"])
def test_text_the_parser_cannot_read_is_refused_with_422(text):
    with pytest.raises(hours.BadHours) as refused:
        hours.normalize(text)
    assert refused.value.status_code == 422
    assert refused.value.message == hours.UNREADABLE


def test_hours_the_week_cannot_say_are_kept_as_text():
    assert hours.fits_week("Mo-Fr 10:00-20:00")
    assert hours.fits_week("Mo 18:00-24:00; Tu 00:00-02:00")  # the same as Mo 18:00-02:00
    assert not hours.fits_week("Mo-Fr 10:00-20:00; PH off")
    assert not hours.fits_week("Jan-Jun 10:00-18:00; Jul-Dec 10:00-20:00")
    assert not hours.fits_week('Mo 10:00-14:00 "by appointment"')


def test_the_summary_groups_days_and_marks_overnight_ranges():
    text = hours.from_week(
        {d: [("10:00", "14:00"), ("17:00", "22:00")] for d in range(4)}
        | {4: [("17:00", "02:00")], 5: [("10:00", "22:00")]}
    )
    assert hours.summary(text) == [
        ([0, 1, 2, 3], [("10:00", "14:00", False), ("17:00", "22:00", False)]),
        ([4], [("17:00", "02:00", True)]),
        ([5], [("10:00", "22:00", False)]),
        ([6], []),
    ]
    assert hours.summary("not hours at all") == []  # shown as the text itself


def test_a_night_into_a_day_with_its_own_hours_keeps_its_small_hours():
    """In OSM a day's rule replaces that whole day, the night before's small hours included:
    the form writes them on the next day too, so Friday night still runs to 02:00."""
    week = {4: [("17:00", "02:00")], 5: [("10:00", "22:00")]}
    text = hours.from_week(week)
    saturday = date(2026, 12, 5)
    assert hours.is_open(text, None, local(saturday, 1, 30)) is True
    assert hours.is_open(text, None, local(saturday, 2, 30)) is False
    assert hours.is_open(text, None, local(saturday, 10, 30)) is True
    assert hours.to_week(text) == {d: week.get(d, []) for d in range(7)}
    bars = {d: [("19:00", "01:00")] for d in range(5)} | {
        5: [("19:00", "03:00")],
        6: [("19:00", "03:00")],
    }
    text = hours.from_week(bars)
    assert hours.to_week(text) == bars
    assert hours.is_open(text, None, local(saturday, 0, 30)) is True  # Friday night
    assert hours.is_open(text, None, local(date(2026, 12, 7), 2, 30)) is True  # Sunday night
