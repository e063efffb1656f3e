"""The nearby ranking: a pure function of candidate rows, the query, the member's history and
the time, so the indexed query (search.py) and a brute-force scan over every store rank with
the very same code (the property test and bench/discovery.py compare the two).

The blend (docs/discovery.md), every term in [0, 1]:

    W_DISTANCE * (1 - d / radius)              nearer is better
  + W_SCORE    * (score - 1) / 4               the community score; unknown: SCORE_PRIOR
  + W_FRESH    * 0.5 ** (age_days / FRESH_HALF_LIFE_DAYS)
                                               the newest evidence: an inspection or a review
  + W_HISTORY  * share of the member's redemptions (180 days) in the store's category

Ties go to the smaller store id, so the order is total and the same on every run.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from pypinyin import Style, lazy_pinyin

from redcard.discovery import hours
from redcard.kit.geo import EARTH_RADIUS_M

W_DISTANCE = 0.45
W_SCORE = 0.30
W_FRESH = 0.10
W_HISTORY = 0.15
SCORE_PRIOR = 0.5  # a store nobody has scored yet counts as a 3-star one
FRESH_HALF_LIFE_DAYS = 180.0
HISTORY_DAYS = 180
MAX_PER_MERCHANT = 3  # the diversity rule, per page: a chain's branches ...
# ... and one category: at most half the page, rounded up (`max_per_category`)

_RAD = math.pi / 180.0
_TWO_R = 2 * EARTH_RADIUS_M


class Candidate(NamedTuple):
    """One store as the ranking reads it: the candidate query's columns, in this order."""

    store_id: Any  # the driver's form (a UUID, or SQLite's hex text): `as_uuid` converts
    merchant_id: Any
    category: str
    lat: float
    lng: float
    score: float | None
    inspected_on: date | str | None
    last_review_at: datetime | str | None
    curated: bool
    opening_hours: str | None
    timezone: str | None
    name: str


COLUMNS = Candidate._fields


def as_uuid(value: Any) -> uuid.UUID:
    return value if type(value) is uuid.UUID else uuid.UUID(str(value))


class Ranked(NamedTuple):
    """A store in the ranking. A tuple that sorts best first: by `key` (the blend, negated),
    then by store id, so the order is total."""

    key: float
    store_id: Any
    distance_m: float
    store: Sequence[Any]  # the candidate row, in COLUMNS order

    @property
    def blend(self) -> float:
        return -self.key

    @property
    def merchant_id(self) -> Any:
        return self.store[1]

    @property
    def category(self) -> str:
        return str(self.store[2])


class Criteria(NamedTuple):
    """What the ranking needs of a query (search.NearbyQuery, validated)."""

    lat: float
    lng: float
    radius_m: int
    category: str | None
    open_now: bool
    curated_only: bool
    text: str | None


# -- the name search --------------------------------------------------------------------------
@lru_cache(maxsize=200_000)
def initials(name: str) -> str:
    """A name's pinyin initials, lower case ("星巴克 南京东路店" -> "xbknjdld"); the first letter of
    each Latin word too ("Blue Frog" -> "bf"). Cached per name: names repeat across queries."""
    out = []
    for chunk in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"):
        for word in chunk.split():
            if word[:1].isalnum():
                out.append(word[0].lower())
    return "".join(out)


def normalize_text(text: str | None) -> str | None:
    text = " ".join((text or "").split()).lower()
    return text or None


def name_matches(name: str, text: str) -> bool:
    """`text` (normalized) is part of the name, or of its pinyin initials ("xbk" finds 星巴克)."""
    if text in name.lower():
        return True
    compact = text.replace(" ", "")
    return compact.isascii() and compact.isalnum() and compact in initials(name)


# -- the blend ----------------------------------------------------------------------------------
def _day(value: date | datetime | str | None) -> date | None:
    """A date column as the driver gives it: a date, a datetime (its UTC day), or SQLite's
    ISO text (the candidate query skips the type conversion: it is most of a row's cost)."""
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


def freshness(
    inspected_on: date | str | None, last_review_at: datetime | str | None, today: date
) -> float:
    """0.5 ** (age in days / half-life) of the newer of the last inspection and the last
    review; 0 with neither; 1 for evidence dated today or later."""
    newest, reviewed = _day(inspected_on), _day(last_review_at)
    if reviewed is not None and (newest is None or reviewed > newest):
        newest = reviewed
    if newest is None:
        return 0.0
    age = (today - newest).days
    return 1.0 if age <= 0 else 0.5 ** (age / FRESH_HALF_LIFE_DAYS)


def rank(
    candidates: Iterable[Sequence[Any]],
    query: Criteria,
    history: Mapping[str, float],
    now: datetime,
) -> list[Ranked]:
    """Every candidate within the radius that passes the filters, best first. Candidates are
    rows in `COLUMNS` order; the SQL may have filtered some already, this filters again so a
    scan over every (visible) store gives the same answer."""
    lat0, lng0, radius = query.lat, query.lng, float(query.radius_m)
    p1 = lat0 * _RAD
    cos1 = math.cos(p1)
    sin, cos, asin, sqrt = math.sin, math.cos, math.asin, math.sqrt
    today = now.date()
    text = normalize_text(query.text)
    category, curated_only, open_now = query.category, query.curated_only, query.open_now
    fresh_cache: dict[tuple[Any, Any], float] = {}  # rows share dates and hours: once each
    open_cache: dict[tuple[Any, Any], bool] = {}
    out: list[Ranked] = []
    new = tuple.__new__
    for row in candidates:
        if category is not None and row[2] != category:
            continue
        if curated_only and not row[8]:
            continue
        p2 = row[3] * _RAD
        a = sin((p2 - p1) / 2) ** 2 + cos1 * cos(p2) * sin((row[4] - lng0) * _RAD / 2) ** 2
        d = _TWO_R * asin(min(1.0, sqrt(a)))
        if d > radius:
            continue
        if text is not None and not name_matches(row[11], text):
            continue
        if open_now:
            key = (row[9], row[10])
            is_open = open_cache.get(key)
            if is_open is None:
                is_open = open_cache[key] = bool(hours.is_open(row[9], row[10], now))
            if not is_open:
                continue
        score = row[5]
        blend = W_DISTANCE * (1.0 - d / radius)
        blend += W_SCORE * (SCORE_PRIOR if score is None else (score - 1.0) / 4.0)
        if row[6] is not None or row[7] is not None:
            key = (row[6], row[7])
            fresh = fresh_cache.get(key)
            if fresh is None:
                fresh = fresh_cache[key] = freshness(row[6], row[7], today)
            blend += W_FRESH * fresh
        if history:
            blend += W_HISTORY * history.get(row[2], 0.0)
        out.append(new(Ranked, (-blend, row[0], d, row)))
    out.sort()  # as tuples: by -blend, then store id (unique, so rows are never compared)
    return out


# -- the diversity rule and the pages -----------------------------------------------------------
def max_per_category(limit: int) -> int:
    return -(-limit // 2)


def pages(ranked: Sequence[Ranked], limit: int) -> Iterable[list[Ranked]]:
    """The ranked list cut into pages of `limit` under the diversity rule: on one page at most
    MAX_PER_MERCHANT stores of one merchant and half the page (rounded up) of one category.
    Greedy and deterministic: each page takes, in rank order, every remaining store that
    still fits; a store that does not waits for the next page where it fits. A page is
    shorter than `limit` only when what remains cannot fill it under the rule."""
    per_category = max_per_category(limit)
    remaining = list(ranked)
    while remaining:
        page: list[Ranked] = []
        left: list[Ranked] = []
        merchants: dict[Any, int] = {}
        categories: dict[str, int] = {}
        for i, item in enumerate(remaining):
            if len(page) == limit:
                left.extend(remaining[i:])
                break
            m, c = item.store[1], item.store[2]
            if merchants.get(m, 0) < MAX_PER_MERCHANT and categories.get(c, 0) < per_category:
                merchants[m] = merchants.get(m, 0) + 1
                categories[c] = categories.get(c, 0) + 1
                page.append(item)
            else:
                left.append(item)
        yield page
        remaining = left


def page_at(ranked: Sequence[Ranked], limit: int, offset: int) -> tuple[list[Ranked], int] | None:
    """The page that starts after `offset` stores were shown, and the offset after it; None
    when no page starts there (a cursor from another list)."""
    shown = 0
    for page in pages(ranked, limit):
        if shown == offset:
            return page, shown + len(page)
        shown += len(page)
        if shown > offset:
            return None
    return ([], offset) if shown == offset else None
