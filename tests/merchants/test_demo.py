from __future__ import annotations

from sqlalchemy import func, select

from redcard.merchants import demo
from redcard.models import Merchant, Redemption, RedemptionStatus, Store, StoreStaff, User
from tests.fixtures.factories import PASSWORD, assert_ledger_ok, count, create_member, seed_plans


async def test_demo_seeds_osm_stores_once_with_staff_and_history(client, db):
    async with db.session_scope() as session:
        await seed_plans(session)
        member = await create_member(session, phone_number="13900000000")
    added = await demo.seed(db, member_phone="13900000000", password=PASSWORD)
    assert added == 1854
    assert await demo.seed(db, member_phone="13900000000", password=PASSWORD) == 0
    assert await count(db, Store) == 1854
    async with db.session_scope() as session:
        merchants = await session.scalar(select(func.count()).select_from(Merchant))
        assert merchants < 1854  # chains share a merchant
        sources = (await session.scalars(select(Store.source))).all()
        assert all(s.startswith("osm:") for s in sources)
        assert len(set(sources)) == 1854
        rates = (await session.scalars(select(Store.discount_bp).distinct())).all()
        assert min(rates) >= 1000
        assert max(rates) <= 2000
        staff = await session.scalar(select(User).where(User.phone == demo.STAFF_PHONE))
        assert staff is not None
        assert await session.scalar(select(StoreStaff.id).where(StoreStaff.user_id == staff.id))
        done = (
            await session.scalars(
                select(Redemption).where(
                    Redemption.member_id == member.id,
                    Redemption.status == RedemptionStatus.committed,
                )
            )
        ).all()
        assert len(done) == 3
    await assert_ledger_ok(db)
    staff_login = await client.post(
        "/api/v1/auth/login", json={"phone": demo.STAFF_PHONE, "password": PASSWORD}
    )
    assert staff_login.status_code == 200
