"""On random stores around a point, the indexed nearby search gives exactly what a brute-force
scan over every row gives, ranked by the same function: page by page, in the same order."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from redcard.discovery.ranking import as_uuid, pages
from redcard.discovery.search import Filters, NearbyQuery, brute_force
from redcard.kit.time import utc_now
from redcard.models import Merchant, MerchantStatus, Store, StoreStatus, User
from tests.discovery.helpers import HOME, add_merchant, add_stores, all_pages, offset, store_row

CENTRES = [HOME, (0.0, 179.99), (-0.01, -179.995), (89.97, 10.0), (-89.99, -120.0)]
CATEGORIES = ["food", "cafe", "bar", "beauty"]

stores = st.lists(
    st.tuples(
        st.floats(-4500, 4500),  # metres north
        st.floats(-4500, 4500),  # metres east
        st.sampled_from(CATEGORIES),
        st.integers(0, 5),  # which merchant
        st.one_of(st.none(), st.floats(1, 5)),  # score
        st.booleans(),  # curated
        st.sampled_from([StoreStatus.live] * 4 + [StoreStatus.paused]),
        st.one_of(st.none(), st.integers(0, 900)),  # inspected this many days ago
        st.sampled_from(["星巴克", "小杨生煎", "Blue Frog", "蓝蛙"]),
    ),
    max_size=40,
)
queries = st.tuples(
    st.sampled_from(CENTRES),
    st.integers(300, 5000),  # radius
    st.one_of(st.none(), st.sampled_from(CATEGORIES)),
    st.booleans(),  # curated only
    st.one_of(st.none(), st.sampled_from(["xbk", "蓝", "frog", "s"])),
    st.integers(1, 8),  # page size
)
merchant_states = st.lists(
    st.sampled_from([MerchantStatus.approved] * 3 + [MerchantStatus.left]), min_size=6, max_size=6
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=stores, query=queries, states=merchant_states)
async def test_nearby_equals_a_brute_force_scan(db, rows, query, states):
    centre, radius, category, curated_only, text, limit = query
    today = utc_now().date()
    async with db.session_scope() as session:
        merchants = [await add_merchant(session, f"商户{i}", s) for i, s in enumerate(states)]
        values = []
        for north, east, cat, m, score, curated, status, age, name in rows:
            lat, lng = offset(*centre, north, east)
            lat = max(-90.0, min(90.0, lat))
            lng = (lng + 180.0) % 360.0 - 180.0
            inspected = None if age is None else today - timedelta(days=age)
            values.append(
                store_row(
                    merchants[m],
                    f"{name} {len(values)}号店",
                    (lat, lng),
                    category=cat,
                    score=score,
                    curated=curated,
                    status=status,
                    inspected_on=inspected,
                )
            )
        await add_stores(session, values)
    try:
        asked = NearbyQuery(
            *centre, radius, Filters(category, False, curated_only, text), limit=limit
        )
        got = await all_pages(db, asked)
        async with db.session_scope() as session:
            ranked = await brute_force(session, asked)
        expected = [[as_uuid(r.store_id) for r in page] for page in pages(ranked, limit)] or [[]]
        assert [[h.store_id for h in p.hits] for p in got] == expected
        assert {p.total for p in got} == {len(ranked)}
        for page, want in zip(got, pages(ranked, limit), strict=False):
            assert [h.distance_m for h in page.hits] == [round(r.distance_m) for r in want]
    finally:
        async with db.session_scope() as session:
            await session.execute(delete(Store))
            await session.execute(delete(Merchant))
            await session.execute(delete(User))
