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

Rows become a `Block`: what the blend reads of each row, computed once when the block is
built, as numpy arrays (the snapshot keeps a block per H3 cell, snapshot.py), and
`rank_block` ranks a block with array arithmetic: a few hundred microseconds for the
thousands of stores in a dense 3 km circle, where a loop over rows took milliseconds. A
scan ranks one block of every store with the same function.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
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
    # what a result shows besides: not ranked on, but kept with the row (snapshot.py)
    district: str | None = None
    address: str | None = None
    discount_bp: int = 0
    discount_cap_fen: int | None = None
    min_bill_fen: int = 0
    rating_avg: float | None = None
    review_count: int = 0
    photos_version: str | None = None


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


# -- blocks: the ranking's inputs as arrays ------------------------------------------------------
class _Codes:
    """Small integers for values the arrays compare (categories, merchants, opening hours):
    interned once per process, so codes agree across every block."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}
        self.values: list[Any] = []

    def __call__(self, value: Any) -> int:
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.values)
            self.values.append(value)
        return code


_CATEGORIES, _MERCHANTS, _HOURS = _Codes(), _Codes(), _Codes()
# rows of Block.floats and Block.ints
_LAT, _COS_LAT, _LNG, _SCORE = range(4)
_NEWEST, _CATEGORY, _CURATED, _HOURS_CODE, _MERCHANT, _ID_HI, _ID_LO = range(7)
_HALF = 1 << 63


def _newest_day(inspected_on: date | str | None, last_review_at: datetime | str | None) -> int:
    """The newer of the last inspection and the last review as a day number; -1 with neither."""
    newest, reviewed = _day(inspected_on), _day(last_review_at)
    if reviewed is not None and (newest is None or reviewed > newest):
        newest = reviewed
    return -1 if newest is None else newest.toordinal()


@dataclass(frozen=True, slots=True)
class Block:
    """Candidate rows (in `COLUMNS` order, or at least its first twelve) and what the ranking
    reads of them, computed once per row: `floats` and `ints` hold one row per input (lat in
    radians, its cosine, lng, the score term; the newest evidence's day, codes for category,
    badge, hours and merchant, the store id's two halves as order-keeping signed integers)."""

    floats: np.ndarray
    ints: np.ndarray
    rows: list[Sequence[Any]]

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def of(cls, rows: Iterable[Sequence[Any]]) -> Block:
        rows = list(rows)
        floats, ints = [], []
        for row in rows:
            lat = row[3] * _RAD
            score = row[5]
            floats.append(
                (lat, math.cos(lat), row[4], SCORE_PRIOR if score is None else (score - 1.0) / 4.0)
            )
            uid = as_uuid(row[0]).int
            ints.append(
                (
                    _newest_day(row[6], row[7]),
                    _CATEGORIES(row[2]),
                    1 if row[8] else 0,
                    _HOURS((row[9], row[10])),
                    _MERCHANTS(as_uuid(row[1])),
                    (uid >> 64) - _HALF,
                    (uid & (_HALF * 2 - 1)) - _HALF,
                )
            )
        return cls(
            np.array(floats, dtype=np.float64).reshape(len(rows), 4).T.copy(),
            np.array(ints, dtype=np.int64).reshape(len(rows), 7).T.copy(),
            rows,
        )

    @classmethod
    def join(cls, blocks: Sequence[Block]) -> Block:
        if len(blocks) == 1:
            return blocks[0]
        if not blocks:
            return cls.of(())
        rows: list[Sequence[Any]] = []
        for block in blocks:
            rows.extend(block.rows)
        return cls(
            np.concatenate([b.floats for b in blocks], axis=1),
            np.concatenate([b.ints for b in blocks], axis=1),
            rows,
        )


@dataclass(frozen=True, slots=True)
class Ranking:
    """A block's rows that pass, best first: `order` indexes the block; `blend` and
    `distance` follow `order`."""

    block: Block
    order: np.ndarray
    blend: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.order)

    def item(self, k: int) -> Ranked:
        row = self.block.rows[int(self.order[k])]
        return Ranked(-float(self.blend[k]), row[0], float(self.distance[k]), row)

    def items(self) -> list[Ranked]:
        return [self.item(k) for k in range(len(self.order))]

    def page_at(self, limit: int, offset: int) -> tuple[list[Ranked], int] | None:
        merchants = self.block.ints[_MERCHANT, self.order].tolist()
        categories = self.block.ints[_CATEGORY, self.order].tolist()
        found = page_positions(merchants, categories, limit, offset)
        if found is None:
            return None
        positions, after = found
        return [self.item(k) for k in positions], after


def rank_block(
    block: Block, query: Criteria, history: Mapping[str, float], now: datetime
) -> Ranking:
    """Every row of the block within the radius that passes the filters, best first. The
    SQL may have filtered some already; this filters again, so a scan over every (visible)
    store gives the same answer."""
    lat0, lng0, radius = query.lat, query.lng, float(query.radius_m)
    f, ints = block.floats, block.ints
    p1 = lat0 * _RAD
    a = (
        np.sin((f[_LAT] - p1) / 2) ** 2
        + math.cos(p1) * f[_COS_LAT] * np.sin((f[_LNG] - lng0) * _RAD / 2) ** 2
    )
    d = _TWO_R * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    mask = d <= radius
    if query.category is not None:
        code = _CATEGORIES.index.get(query.category, -1)
        mask &= ints[_CATEGORY] == code
    if query.curated_only:
        mask &= ints[_CURATED] == 1
    text = normalize_text(query.text)
    if text is not None:
        keep = [i for i in np.flatnonzero(mask).tolist() if name_matches(block.rows[i][11], text)]
        mask = np.zeros(len(block), dtype=bool)
        mask[keep] = True
    if query.open_now:
        codes = ints[_HOURS_CODE]
        is_open = np.zeros(len(_HOURS.values), dtype=bool)
        for code in np.unique(codes[mask]).tolist():
            opening_hours, timezone = _HOURS.values[code]
            is_open[code] = bool(hours.is_open(opening_hours, timezone, now))
        mask &= is_open[codes]
    sel = np.flatnonzero(mask)
    dist = d[sel]
    blend = W_DISTANCE * (1.0 - dist / radius)
    blend += W_SCORE * f[_SCORE, sel]
    newest = ints[_NEWEST, sel]
    age = now.date().toordinal() - newest
    with np.errstate(under="ignore", over="ignore"):
        fresh = np.where(age <= 0, 1.0, 0.5 ** (age / FRESH_HALF_LIFE_DAYS))
    blend += W_FRESH * np.where(newest < 0, 0.0, fresh)
    if history:
        shares = np.array([history.get(c, 0.0) for c in _CATEGORIES.values], dtype=np.float64)
        blend += W_HISTORY * shares[ints[_CATEGORY, sel]]
    by = np.lexsort((ints[_ID_LO, sel], ints[_ID_HI, sel], -blend))
    return Ranking(block, sel[by], blend[by], dist[by])


def rank(
    candidates: Iterable[Sequence[Any]],
    query: Criteria,
    history: Mapping[str, float],
    now: datetime,
) -> list[Ranked]:
    """`rank_block` over rows: every candidate within the radius that passes the filters,
    best first."""
    return rank_block(Block.of(candidates), query, history, now).items()


# -- the diversity rule and the pages -----------------------------------------------------------
def max_per_category(limit: int) -> int:
    return -(-limit // 2)


def page_spans(
    merchants: Sequence[Hashable], categories: Sequence[Hashable], limit: int
) -> Iterator[list[int]]:
    """The ranked list (each store's merchant and category, in rank order) cut into pages of
    `limit` under the diversity rule, as positions: on one page at most MAX_PER_MERCHANT
    stores of one merchant and half the page (rounded up) of one category. Greedy and
    deterministic: each page takes, in rank order, every remaining store that still fits; a
    store that does not waits for the next page where it fits. A page is shorter than `limit`
    only when what remains cannot fill it under the rule."""
    per_category = max_per_category(limit)
    remaining = list(range(len(merchants)))
    while remaining:
        page: list[int] = []
        left: list[int] = []
        taken_m: dict[Hashable, int] = {}
        taken_c: dict[Hashable, int] = {}
        for i, position in enumerate(remaining):
            if len(page) == limit:
                left.extend(remaining[i:])
                break
            m, c = merchants[position], categories[position]
            if taken_m.get(m, 0) < MAX_PER_MERCHANT and taken_c.get(c, 0) < per_category:
                taken_m[m] = taken_m.get(m, 0) + 1
                taken_c[c] = taken_c.get(c, 0) + 1
                page.append(position)
            else:
                left.append(position)
        yield page
        remaining = left


def page_positions(
    merchants: Sequence[Hashable], categories: Sequence[Hashable], limit: int, offset: int
) -> tuple[list[int], int] | None:
    """The page that starts after `offset` stores were shown, and the offset after it; None
    when no page starts there (a cursor from another list)."""
    shown = 0
    for page in page_spans(merchants, categories, limit):
        if shown == offset:
            return page, shown + len(page)
        shown += len(page)
        if shown > offset:
            return None
    return ([], offset) if shown == offset else None


def pages(ranked: Sequence[Ranked], limit: int) -> Iterator[list[Ranked]]:
    """`page_spans` over a list of ranked stores."""
    merchants = [item.store[1] for item in ranked]
    categories = [item.store[2] for item in ranked]
    for page in page_spans(merchants, categories, limit):
        yield [ranked[p] for p in page]


def page_at(ranked: Sequence[Ranked], limit: int, offset: int) -> tuple[list[Ranked], int] | None:
    """`page_positions` over a list of ranked stores."""
    found = page_positions(
        [item.store[1] for item in ranked], [item.store[2] for item in ranked], limit, offset
    )
    return None if found is None else ([ranked[p] for p in found[0]], found[1])
