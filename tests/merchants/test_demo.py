"""The demo city's stores: real OpenStreetMap places a card programme would sign, and the demo
staff's chain with five branches a member can tell apart and find."""

from __future__ import annotations

import csv

from sqlalchemy import func, select

from redcard.merchants import demo
from redcard.models import Merchant, Redemption, RedemptionStatus, Store, StoreStaff, User
from tests.fixtures.factories import (
    PASSWORD,
    assert_ledger_ok,
    count,
    create_member,
    give_card,
    login,
)


def data_file() -> dict[str, dict[str, str]]:
    """Every row of the data file, by OSM id."""
    with demo.csv_path().open(encoding="utf-8") as fh:
        return {row["source_id"]: row for row in csv.DictReader(fh)}


def test_banks_atms_and_shops_are_not_member_stores():
    rows = data_file().values()
    signed = demo.member_store_rows(demo.csv_path())
    assert len(rows) == 1854
    assert len(signed) == 1024  # food 802, cafe 215, fitness 7 (README, docs/merchant.md)
    assert {r["category"] for r in signed} == {"food", "cafe", "fitness"}
    assert not [r for r in signed if "bank" in r["source_category"]]
    assert [r for r in rows if "amenity=bank" in r["source_category"]]  # there are some to leave


def test_a_branch_is_named_after_the_street_of_its_address():
    assert demo.street_of("衡山路890弄3号") == "衡山路"
    assert demo.street_of("淮海中路1008-4") == "淮海中路"
    assert demo.street_of("12 Pucheng Road") == "Pucheng Road"


async def test_demo_seeds_member_stores_once_with_staff_and_history(client, db):
    async with db.session_scope() as session:
        member = await create_member(session, phone_number="13900000000")
        await give_card(session, member)
    added = await demo.seed(db, member_phone="13900000000", password=PASSWORD)
    assert added == 993  # 1,024 signed places less the demo chain's 31 unsigned branches
    assert await demo.seed(db, member_phone="13900000000", password=PASSWORD) == 0
    assert await count(db, Store) == 993
    rows = data_file()
    async with db.session_scope() as session:
        merchants = await session.scalar(select(func.count()).select_from(Merchant))
        assert merchants < 993  # chains share a merchant
        stores = (await session.scalars(select(Store))).all()
        assert len({s.source for s in stores}) == 993
        assert all(s.source in rows for s in stores)  # every store is a place in the file
        excluded = {
            s.name for s in stores if rows[s.source]["category"] not in demo.MEMBER_STORE_CATEGORIES
        }
        assert not excluded
        assert {s.category for s in stores} == {"food", "cafe", "fitness"}
        assert not [s.name for s in stores if "银行" in s.name or "ATM" in s.name.upper()]
        rates = {s.discount_bp for s in stores}
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
    mine = await client.get("/api/v1/merchant/stores", headers=await login(client, staff))
    assert mine.status_code == 200
    branches = mine.json()
    names = sorted(s["name"] for s in branches)
    assert names == [
        "星巴克 南京东路店",
        "星巴克 天山路店",
        "星巴克 淮海中路店",
        "星巴克 福山路店",
        "星巴克 肇嘉浜路店",
    ]
    addresses = [s["address"] for s in branches]
    assert len(set(addresses)) == 5
    assert addresses == [rows[s["source"]]["address"] for s in branches]
    assert all(addresses)
