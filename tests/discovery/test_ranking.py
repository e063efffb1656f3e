"""What a member sees in the nearby list: order, filters, the diversity rule, what never shows,
their own history, and paging. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select

from redcard.discovery.ranking import MAX_PER_MERCHANT, as_uuid, pages
from redcard.discovery.search import Filters, NearbyQuery, brute_force
from redcard.kit import time as clock
from redcard.kit.ids import new_id
from redcard.kit.time import utc_now
from redcard.models import (
    Membership,
    MerchantStatus,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
    StoreStatus,
)
from tests.discovery.helpers import (
    HOME,
    add_merchant,
    add_store,
    add_stores,
    all_pages,
    names,
    offset,
    search,
    store_row,
)
from tests.fixtures.factories import new_card_holder

HERE = NearbyQuery(*HOME, radius_m=3000)


async def test_nearer_store_wins_at_equal_score(db):
    await add_store(db, "远一点的面馆", offset(*HOME, 1500, 0), score=4.0)
    await add_store(db, "近一点的面馆", offset(*HOME, 300, 0), score=4.0)
    page = await search(db, HERE)
    assert [h.name for h in page.hits] == ["近一点的面馆", "远一点的面馆"]
    assert page.hits[0].distance_m == 300
    assert page.total == 2


async def test_a_much_better_score_can_beat_a_little_distance(db):
    await add_store(db, "口碑店", offset(*HOME, 600, 0), score=4.9)
    await add_store(db, "普通店", offset(*HOME, 400, 0), score=2.0)
    page = await search(db, HERE)
    assert [h.name for h in page.hits] == ["口碑店", "普通店"]


async def test_curated_only_never_shows_an_unbadged_store(db):
    async with db.session_scope() as session:
        rows = []
        for i in range(1, 16):
            m = await add_merchant(session, f"店{i}")
            at = offset(*HOME, 100 * i, 50)
            rows.append(store_row(m, f"店{i}", at, curated=i % 3 == 0, score=5 - i / 5))
        await add_stores(session, rows)
    page = await search(db, NearbyQuery(*HOME, 3000, Filters(curated_only=True), limit=50))
    assert page.hits
    assert all(h.curated for h in page.hits)
    assert page.total == 5
    everything = await search(db, NearbyQuery(*HOME, 3000, limit=50))
    assert [h.name for h in page.hits] == [h.name for h in everything.hits if h.curated]


async def test_one_chain_fills_at_most_three_places_of_the_first_page(db):
    async with db.session_scope() as session:
        chain = await add_merchant(session, "连锁咖啡")
        await add_stores(
            session,
            [
                store_row(chain, f"连锁咖啡 {i}号店", offset(*HOME, 50 * i, 0), category="cafe")
                for i in range(1, 11)
            ],
        )
        for i in range(12):
            m = await add_merchant(session, f"独立店{i}")
            category = ("food", "bar", "beauty")[i % 3]
            row = store_row(m, f"独立店{i}", offset(*HOME, 0, 700 + 40 * i), category=category)
            await add_stores(session, [row])
    page = await search(db, NearbyQuery(*HOME, 3000, limit=10))
    chain_hits = [h for h in page.hits if h.name.startswith("连锁咖啡")]
    assert len(page.hits) == 10
    assert len(chain_hits) == MAX_PER_MERCHANT
    # the nearest three branches, in rank order, and the rest wait for later pages
    assert [h.name for h in chain_hits] == ["连锁咖啡 1号店", "连锁咖啡 2号店", "连锁咖啡 3号店"]
    seen = [h.name for p in await all_pages(db, NearbyQuery(*HOME, 3000, limit=10)) for h in p.hits]
    assert sum(n.startswith("连锁咖啡") for n in seen) == 10


async def test_one_category_fills_at_most_half_a_page(db):
    async with db.session_scope() as session:
        rows = []
        for i in range(12):
            m = await add_merchant(session, f"面馆{i}")
            rows.append(store_row(m, f"面馆{i}", offset(*HOME, 40 * i, 0), category="food"))
        for i in range(6):
            m = await add_merchant(session, f"健身{i}")
            rows.append(
                store_row(m, f"健身{i}", offset(*HOME, 0, 900 + 40 * i), category="fitness")
            )
        await add_stores(session, rows)
    page = await search(db, NearbyQuery(*HOME, 3000, limit=8))
    categories = [h.category for h in page.hits]
    assert categories.count("food") == 4
    assert categories.count("fitness") == 4


async def test_paused_departed_and_distant_stores_never_appear(db):
    async with db.session_scope() as session:
        ok = await add_merchant(session, "在营")
        left = await add_merchant(session, "已退出", MerchantStatus.left)
        pending = await add_merchant(session, "待审核", MerchantStatus.pending)
        await add_stores(
            session,
            [
                store_row(ok, "营业中", offset(*HOME, 200, 0)),
                store_row(ok, "暂停中", offset(*HOME, 100, 0), status=StoreStatus.paused),
                store_row(ok, "已关闭", offset(*HOME, 100, 10), status=StoreStatus.closed),
                store_row(ok, "太远了", offset(*HOME, 3050, 0)),
                store_row(ok, "斜对角太远", offset(*HOME, 2200, 2200)),
                store_row(left, "退出商户的店", offset(*HOME, 50, 0)),
                store_row(pending, "未审核商户的店", offset(*HOME, 60, 0)),
            ],
        )
    page = await search(db, NearbyQuery(*HOME, 3000, limit=50))
    assert [h.name for h in page.hits] == ["营业中"]
    assert page.total == 1
    wider = await search(db, NearbyQuery(*HOME, 3500, limit=50))
    assert {h.name for h in wider.hits} == {"营业中", "太远了", "斜对角太远"}


async def test_a_members_history_lifts_the_category_they_use(db):
    member = await new_card_holder(db, "常喝咖啡")
    noodle = await add_store(db, "面馆", offset(*HOME, 300, 0), category="food")
    cafe = await add_store(db, "咖啡馆", offset(*HOME, 600, 0), category="cafe")
    anonymous = await search(db, HERE)
    assert [h.store_id for h in anonymous.hits] == [noodle, cafe]
    merchant_id = anonymous.hits[1].merchant_id
    async with db.session_scope() as session:
        membership_id = await session.scalar(
            select(Membership.id).where(Membership.member_id == member.id)
        )
        now = utc_now()
        await session.execute(
            insert(Redemption),
            [
                {
                    "id": new_id(),
                    "kind": RedemptionKind.code,
                    "status": RedemptionStatus.committed,
                    "store_id": cafe,
                    "merchant_id": merchant_id,
                    "member_id": member.id,
                    "membership_id": membership_id,
                    "bill_fen": 3000,
                    "excluded_fen": 0,
                    "discount_fen": 300,
                    "charged_fen": 2700,
                    "prepared_at": now - timedelta(days=d),
                    "committed_at": now - timedelta(days=d),
                }
                for d in (1, 5, 20)
            ],
        )
    theirs = await search(db, HERE, member_id=member.id)
    assert [h.store_id for h in theirs.hits] == [cafe, noodle]
    # redemptions older than 180 days no longer count
    clock.freeze(utc_now() + timedelta(days=200))
    assert [h.store_id for h in (await search(db, HERE, member_id=member.id)).hits] == [
        noodle,
        cafe,
    ]


async def test_fresh_evidence_lifts_a_store(db):
    today = utc_now().date()
    await add_store(db, "很久没人去", offset(*HOME, 400, 0), inspected_on=date(2020, 1, 1))
    await add_store(db, "刚探过店", offset(*HOME, 500, 0), inspected_on=today)
    assert [h.name for h in (await search(db, HERE)).hits] == ["刚探过店", "很久没人去"]


async def test_cursor_pages_are_disjoint_and_together_the_whole_ranked_list(db):
    async with db.session_scope() as session:
        rows = []
        for i in range(7):
            m = await add_merchant(session, f"连锁{i}")
            for j in range(6):
                at = offset(*HOME, 37 * (i * 6 + j) - 800, 61 * j - 150)
                category = ("food", "cafe", "bar")[(i + j) % 3]
                rows.append(
                    store_row(m, f"连锁{i}-{j}", at, category=category, score=1 + (i * j) % 5)
                )
        await add_stores(session, rows)
    query = NearbyQuery(*HOME, 3000, limit=7)
    got = await all_pages(db, query)
    ids = [h.store_id for p in got for h in p.hits]
    assert len(ids) == len(set(ids)) == 42
    assert all(p.total == 42 for p in got)
    async with db.session_scope() as session:
        ranked = await brute_force(session, query)
    expected = [[as_uuid(r.store_id) for r in page] for page in pages(ranked, 7)]
    assert [[h.store_id for h in p.hits] for p in got] == expected


async def test_open_now_follows_the_clock(db):
    await add_store(db, "午市店", offset(*HOME, 100, 0), opening_hours="Mo-Su 11:00-14:00")
    await add_store(db, "夜宵店", offset(*HOME, 200, 0), opening_hours="Mo-Su 18:00-02:00")
    await add_store(db, "不知道几点开", offset(*HOME, 300, 0))
    only_open = NearbyQuery(*HOME, 3000, Filters(open_now=True))
    shanghai = timedelta(hours=8)
    with clock.frozen(datetime(2026, 12, 2, 12, 30, tzinfo=UTC) - shanghai):
        assert [h.name for h in (await search(db, only_open)).hits] == ["午市店"]
        flags = {h.name: h.open_now for h in (await search(db, HERE)).hits}
        assert flags == {"午市店": True, "夜宵店": False, "不知道几点开": None}
    with clock.frozen(datetime(2026, 12, 3, 1, 30, tzinfo=UTC) - shanghai):  # past midnight
        assert [h.name for h in (await search(db, only_open)).hits] == ["夜宵店"]
    with clock.frozen(datetime(2026, 12, 3, 16, 0, tzinfo=UTC) - shanghai):
        page = await search(db, only_open)
        assert page.hits == []
        assert page.total == 0


async def test_pinyin_initials_and_part_of_the_name_find_a_store(db):
    starbucks = await add_store(db, "星巴克 南京东路店", offset(*HOME, 200, 0), category="cafe")
    await add_store(db, "小杨生煎", offset(*HOME, 300, 0))
    await add_store(db, "Blue Frog 蓝蛙", offset(*HOME, 400, 0), category="bar")
    for text in ("xbk", "XBK", "星巴克", "南京东路", "xbknjdld"):
        page = await search(db, NearbyQuery(*HOME, 3000, Filters(text=text)))
        assert [h.store_id for h in page.hits] == [starbucks], text
    frog = await search(db, NearbyQuery(*HOME, 3000, Filters(text="blue frog")))
    assert await names(db, [h.store_id for h in frog.hits]) == ["Blue Frog 蓝蛙"]
    assert (await search(db, NearbyQuery(*HOME, 3000, Filters(text="bflw")))).total == 1
    assert (await search(db, NearbyQuery(*HOME, 3000, Filters(text="kfc")))).total == 0
