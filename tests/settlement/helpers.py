from __future__ import annotations

from datetime import date, datetime, time

from redcard.settlement.service import SHANGHAI


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time (the clock stores UTC)."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)
