"""The nearby list is served from each process's snapshot of the stores (discovery/snapshot.py),
and it is never stale: whatever changes a store or its merchant shows in the very next search.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, text, update

from redcard.discovery import snapshot
from redcard.discovery.search import Filters, NearbyQuery
from redcard.models import Merchant, MerchantStatus, Store, StoreStatus
from tests.discovery.helpers import HOME, add_merchant, add_store, add_stores, offset, search
from tests.discovery.helpers import store_row as row

HERE = NearbyQuery(*HOME, radius_m=3000)

# every column discovery reads or shows, with a value it does not have yet
WATCHED: dict[str, Any] = {
    "name": "新名字",
    "category": "cafe",
    "district": "静安区",
    "address": "南京西路 2 号",
    "lat": HOME[0] + 0.001,
    "lng": HOME[1] + 0.001,
    "opening_hours": "Mo-Su 09:00-21:00",
    "timezone": "Asia/Shanghai",
    "photos_version": "v2",
    "cell_fine": 1,
    "cell_coarse": 1,
    "rating_avg": 4.5,
    "review_count": 7,
    "score": 4.2,
    "last_review_at": datetime(2026, 11, 30, tzinfo=UTC),
    "inspected_on": date(2026, 11, 29),
    "curated": True,
    "status": StoreStatus.paused,
    "discount_bp": 1500,
    "discount_cap_fen": 5000,
    "min_bill_fen": 100,
}


async def changes(db) -> int:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        return int(
            (await session.execute(text("SELECT changes FROM discovery_generation"))).scalar_one()
        )


async def test_every_column_discovery_shows_moves_the_generation(db):
    store_id = await add_store(db, "小店", offset(*HOME, 200, 0))
    for column, value in WATCHED.items():
        before = await changes(db)
        async with db.session_scope() as session:
            await session.execute(update(Store).where(Store.id == store_id).values({column: value}))
        assert await changes(db) > before, f"updating stores.{column} left the snapshot stale"


async def test_the_tills_and_the_workers_bookkeeping_do_not(db):
    store_id = await add_store(db, "小店", offset(*HOME, 200, 0))
    before = await changes(db)
    async with db.session_scope() as session:
        await session.execute(
            update(Store)
            .where(Store.id == store_id)
            .values(curation_due_on=date(2027, 1, 1), description="新的介绍")
        )
    assert await changes(db) == before


async def test_a_second_search_reads_no_store_rows(db):
    await add_store(db, "小店", offset(*HOME, 200, 0))
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    await search(db, HERE)  # fills the snapshot
    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        page = await search(db, HERE)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    assert [h.name for h in page.hits] == ["小店"]
    assert not [s for s in statements if "FROM stores" in s], statements


@pytest.mark.parametrize(
    "change",
    ["pause", "merchant leaves", "rename", "delete"],
)
async def test_a_change_shows_in_the_very_next_search(db, change):
    store_id = await add_store(db, "小店", offset(*HOME, 200, 0))
    assert [h.name for h in (await search(db, HERE)).hits] == ["小店"]
    async with db.session_scope() as session:
        if change == "pause":
            await session.execute(
                update(Store).where(Store.id == store_id).values(status=StoreStatus.paused)
            )
        elif change == "merchant leaves":
            merchant_id = (
                await session.execute(select(Store.merchant_id).where(Store.id == store_id))
            ).scalar_one()
            await session.execute(
                update(Merchant)
                .where(Merchant.id == merchant_id)
                .values(status=MerchantStatus.left)
            )
        elif change == "rename":
            await session.execute(update(Store).where(Store.id == store_id).values(name="新店名"))
        else:
            await session.execute(text("DELETE FROM stores"))
    hits = (await search(db, HERE)).hits
    assert [h.name for h in hits] == (["新店名"] if change == "rename" else [])


async def test_a_new_store_appears_in_the_very_next_search(db):
    await add_store(db, "老店", offset(*HOME, 200, 0))
    assert (await search(db, HERE)).total == 1
    async with db.session_scope() as session:
        merchant_id = await add_merchant(session, "新店")
        await add_stores(session, [row(merchant_id, "新店", offset(*HOME, 100, 0))])
    page = await search(db, HERE)
    assert [h.name for h in page.hits] == ["新店", "老店"]


async def test_a_curated_filter_follows_the_badge(db):
    store_id = await add_store(db, "小店", offset(*HOME, 200, 0))
    curated = NearbyQuery(*HOME, radius_m=3000, filters=Filters(curated_only=True))
    assert (await search(db, curated)).hits == []
    async with db.session_scope() as session:
        await session.execute(update(Store).where(Store.id == store_id).values(curated=True))
    assert [h.name for h in (await search(db, curated)).hits] == ["小店"]
    snapshot.forget()  # a cold process answers the same
    assert [h.name for h in (await search(db, curated)).hits] == ["小店"]
