"""The demo city's opening hours: a store's own hours from the data file when it has them,
else believable hours guessed from its category, fixed per store and marked as generated;
a guess never replaces real hours or hours a merchant saved."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from redcard.discovery import hours
from redcard.kit import time as clock
from redcard.merchants import demo
from redcard.models import Store

COLUMNS = ["name", "category", "source_category", "lat", "lng", "district", "address"]
COLUMNS += ["rating", "review_count", "source_id", "opening_hours"]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" for c in COLUMNS} | row)
    return path


def place(name: str, category: str, osm_id: int, opening_hours: str = "") -> dict[str, str]:
    return {
        "name": name,
        "category": category,
        "lat": "31.22",
        "lng": "121.45",
        "district": "徐汇区",
        "source_id": f"osm:node/{osm_id}",
        "opening_hours": opening_hours,
    }


def test_guessed_hours_fit_the_category_and_are_fixed_per_store():
    keys = [f"osm:node/{n}" for n in range(60)]
    for category in demo.HOURS_BY_CATEGORY:
        guesses = [demo.generated_hours(category, key) for key in keys]
        assert guesses == [demo.generated_hours(category, key) for key in keys]  # fixed
        assert len(set(guesses)) > 1  # not every store of a kind alike
        for text in guesses:
            assert hours.normalize(text) == text  # what the editor would have written
    friday_night = datetime(2026, 12, 4, 23, 30, tzinfo=clock.zone())
    saturday_small_hours = datetime(2026, 12, 5, 0, 30, tzinfo=clock.zone())
    morning = datetime(2026, 12, 2, 8, 30, tzinfo=clock.zone())  # a Wednesday
    afternoon = datetime(2026, 12, 2, 15, 30, tzinfo=clock.zone())
    bars = [demo.generated_hours("bar", key) for key in keys]
    assert all(hours.is_open(t, None, saturday_small_hours) for t in bars)  # open past midnight
    assert all(hours.is_open(t, None, friday_night) for t in bars)
    cafes = [demo.generated_hours("cafe", key) for key in keys]
    assert "08:00-21:00" in cafes
    assert all(hours.is_open(t, None, morning) for t in cafes)
    gyms = [demo.generated_hours("fitness", key) for key in keys]
    assert all(
        hours.is_open(t, None, datetime(2026, 12, 2, 7, 0, tzinfo=clock.zone())) for t in gyms
    )
    food = [demo.generated_hours("food", key) for key in keys]
    with_break = [t for t in food if not hours.is_open(t, None, afternoon)]
    assert with_break  # some restaurants close between lunch and dinner ...
    assert len(with_break) < len(food)  # ... and some do not


async def test_real_hours_stay_and_only_empty_hours_are_guessed(db, tmp_path):
    data = write_csv(
        tmp_path / "stores.csv",
        [
            place("早安咖啡", "cafe", 1, "Mo-Fr 07:00-19:00"),
            place("深夜酒馆", "bar", 2),
            place("阿娘面馆", "food", 3),
            place("健身房", "fitness", 4, "not hours at all"),
        ],
    )
    async with db.session_scope() as session:
        assert await demo.seed_stores(session, data) == 4
        assert await demo.fill_generated_hours(session) == 3
    async with db.session_scope() as session:
        stores = {s.name: s for s in await session.scalars(select(Store))}
        real = stores["早安咖啡"]
        assert (real.opening_hours, real.hours_generated) == ("Mo-Fr 07:00-19:00", False)
        bar = stores["深夜酒馆"]
        assert bar.hours_generated is True
        assert bar.opening_hours == demo.generated_hours("bar", "osm:node/2")
        assert stores["健身房"].hours_generated is True  # unreadable in the file: guessed
        # the merchant saves their own hours for the noodle shop; the demo runs again
        stores["阿娘面馆"].opening_hours, stores["阿娘面馆"].hours_generated = "11:00-20:00", False
        bar.opening_hours = None  # and the bar's hours were emptied
    async with db.session_scope() as session:
        assert await demo.fill_generated_hours(session) == 1
    async with db.session_scope() as session:
        stores = {s.name: s for s in await session.scalars(select(Store))}
        assert stores["早安咖啡"].opening_hours == "Mo-Fr 07:00-19:00"
        assert (stores["阿娘面馆"].opening_hours, stores["阿娘面馆"].hours_generated) == (
            "11:00-20:00",
            False,
        )
        assert stores["深夜酒馆"].hours_generated is True
