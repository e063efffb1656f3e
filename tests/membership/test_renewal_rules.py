"""The renewal rules as pure functions, and the settings that feed them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from redcard.config import Settings
from redcard.membership.renewal_rules import charge_fen, due_at, next_attempt, parse_schedule

DAY = timedelta(days=1)


def test_the_retry_schedule_reads_days_hours_and_minutes():
    assert parse_schedule("1d,3d") == (DAY, 3 * DAY)
    assert parse_schedule(" 12h , 30m ") == (timedelta(hours=12), timedelta(minutes=30))
    assert parse_schedule("") == ()
    for bad in ("1w", "0d", "d", "1d,,2d"):
        with pytest.raises(ValueError, match="RETRY_SCHEDULE"):
            parse_schedule(bad)


def test_each_failed_attempt_waits_its_turn_then_there_is_none():
    schedule = (DAY, 3 * DAY)
    assert [next_attempt(n, schedule) for n in (1, 2, 3)] == [DAY, 3 * DAY, None]


def test_the_charge_is_never_sooner_than_the_notice_period():
    ends = datetime(2027, 3, 1, tzinfo=UTC)
    assert due_at(ends, ends - 6 * DAY, 5) == ends
    assert due_at(ends, ends - 2 * DAY, 5) == ends + 3 * DAY  # turned on late: still 5 days


def test_the_member_never_pays_more_than_the_notice_said():
    assert charge_fen(16800, 19800) == 16800
    assert charge_fen(16800, 12800) == 12800


def test_the_settings_refuse_a_notice_shorter_than_five_days_and_a_bad_schedule():
    with pytest.raises(ValidationError):
        Settings(renewal_notice_days=4)
    with pytest.raises(ValidationError):
        Settings(renewal_retry_schedule="soon")
    assert Settings(renewal_notice_days=7).renewal_notice_days == 7
