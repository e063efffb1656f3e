"""Renewal rules as pure functions: the retry schedule, when a renewal is due, and what it
charges. No database (tests/membership/test_renewal_rules.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_PART = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNIT = {"d": "days", "h": "hours", "m": "minutes"}


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """ "1d,3d" → (1 day, 3 days): the waits before each retry of a failed charge. Empty means
    no retry. Each part is a whole number of days (d), hours (h) or minutes (m), above zero."""
    if not text.strip():
        return ()
    out = []
    for part in text.split(","):
        found = _PART.match(part)
        if not found or int(found.group(1)) <= 0:
            raise ValueError(
                f"REDCARD_RENEWAL_RETRY_SCHEDULE: {part.strip()!r} is not a wait like 1d, 12h, 30m"
            )
        out.append(timedelta(**{_UNIT[found.group(2)]: int(found.group(1))}))
    return tuple(out)


def due_at(ends_at: datetime, noticed_at: datetime, notice_days: int) -> datetime:
    """The charge is due when the card ends, but never sooner than `notice_days` after the
    notice (a member who turns auto-renew on late is still told 5 days ahead)."""
    return max(ends_at, noticed_at + timedelta(days=notice_days))


def charge_fen(noticed_fen: int, current_fen: int) -> int:
    """A plan re-priced after the notice: the member pays what the notice said, or the new
    price if it is lower; never more than they were told."""
    return min(noticed_fen, current_fen)


def next_attempt(attempts_failed: int, schedule: tuple[timedelta, ...]) -> timedelta | None:
    """The wait after the `attempts_failed`-th failed charge, or None: that was the last."""
    if attempts_failed <= 0 or attempts_failed > len(schedule):
        return None
    return schedule[attempts_failed - 1]
