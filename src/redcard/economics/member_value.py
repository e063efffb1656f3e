"""What the card is worth to its paying members now: how much of their card's fee each has
saved so far, in bands, and how long those who broke even took (docs/economics.md).

The paying members are those whose paid card is in force now; their savings are the memo's
lines since that card started (ledger/savings.py).
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from redcard.economics.headline import cards_at
from redcard.kit.time import utc_now
from redcard.ledger.savings import saving_lines_between
from redcard.models import PlanKind

# bands of savings as a share of the fee: nothing, under 25%, 25-50%, 50-75%, 75-100%, paid back
BANDS = ("none", "under_25", "25_50", "50_75", "75_100", "paid_back")


def band(saved_fen: int, fee_fen: int) -> str:
    if saved_fen <= 0:
        return "none"
    if saved_fen >= fee_fen:
        return "paid_back"
    quarter = saved_fen * 4 // fee_fen
    return ("under_25", "25_50", "50_75", "75_100")[quarter]


@dataclass(frozen=True, slots=True)
class MemberValue:
    paying: int
    bands: dict[str, int]
    median_days_to_break_even: float | None  # of those who did

    def percent(self, name: str) -> int:
        return self.bands[name] * 100 // self.paying if self.paying else 0


async def member_value(session: AsyncSession, now: datetime | None = None) -> MemberValue:
    now = now or utc_now()
    cards = [c for c in await cards_at(session, now) if c[3] == PlanKind.paid and c[2] > 0]
    starts = {m: start for m, start, _, _ in cards}
    fees = {m: fee for m, _, fee, _ in cards}
    saved = dict.fromkeys(starts, 0)
    reached: dict[uuid.UUID, float] = {}  # days from the card's start to paying back
    for member, posted_at, fen in await saving_lines_between(session, starts, now):
        saved[member] += fen
        if saved[member] < fees[member]:
            reached.pop(member, None)  # an undo took it back below the fee
        elif member not in reached:
            reached[member] = (posted_at - starts[member]).total_seconds() / 86_400
    counts = dict.fromkeys(BANDS, 0)
    for member, fen in saved.items():
        counts[band(fen, fees[member])] += 1
    days = list(reached.values())
    return MemberValue(
        paying=len(starts),
        bands=counts,
        median_days_to_break_even=round(statistics.median(days), 1) if days else None,
    )
