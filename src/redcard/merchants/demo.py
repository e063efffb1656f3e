"""Demo merchants and stores from OpenStreetMap (© OpenStreetMap contributors, ODbL).

`data/shanghai_stores.csv` (or REDCARD_STORES_CSV) holds 1,854 real Shanghai places. Only the
kinds of place a card programme signs are seeded (`MEMBER_STORE_CATEGORIES`: no banks, ATMs,
supermarkets or convenience stores). Places of the same name (chains) are grouped under one
merchant. The demo staff's chain (`DEMO_BRAND`) signed five branches: the first five in the
file with an address on distinct streets, each named after its street ("星巴克 南京东路店");
the chain's other branches are not member stores. Every store keeps its OSM id in `source`
and gets a plausible card discount (10–20% off; some with a cap or minimum bill). Seeding is
one bulk INSERT per table and idempotent: nothing happens when OSM stores exist already. It
also seeds a demo store staff login and a few redemptions for the demo member.

Opening hours: a row's own `opening_hours` (OSM syntax) when the file has them; else hours
guessed from the category (`generated_hours`: cafes 08:00-21:00, bars overnight to 02:00,
some restaurants closed between lunch and dinner, gyms early to late, ...), different but
fixed per store and marked `hours_generated`. A guess only ever fills hours that are empty:
real hours, and hours a merchant saved, are never replaced.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.accounts.passwords import hash_password
from redcard.accounts.service import create_user
from redcard.config import get_settings
from redcard.db import Database
from redcard.discovery import hours
from redcard.kit import time as clock
from redcard.kit.ids import new_id
from redcard.kit.time import utc_now
from redcard.membership import repository as membership_repo
from redcard.merchants import access
from redcard.models import (
    MemberCode,
    Merchant,
    MerchantStatus,
    Role,
    Store,
    StoreStaff,
    StoreStatus,
    User,
)
from redcard.redemption import codes
from redcard.redemption import service as redemption
from redcard.redemption.member import get_or_create_code
from redcard.redemption.till import Till

log = logging.getLogger(__name__)
DEFAULT_CSV = Path(__file__).resolve().parents[3] / "data" / "shanghai_stores.csv"
STAFF_PHONE = "13700000000"
DEMO_BRAND = "星巴克"  # the demo staff owns this chain's five branches (else the first cafe)
DEMO_BRANCHES = 5

# The places a card programme signs, by the data file's `category` column (data/README.md),
# and the category the app files them under. Members get a discount where they eat, drink,
# work out, get their hair done or go out; nobody gets one at a bank or an ATM. Every other
# category is left out of the demo city: `services` (banks, ATMs, post offices, pharmacies,
# clinics, fuel, laundries, coworking), `retail` (in this file: supermarkets and convenience
# stores, the everyday errand at thin margins) and `other` (hotels). docs/merchant.md.
MEMBER_STORE_CATEGORIES: dict[str, str] = {
    "food": "food",
    "cafe": "cafe",
    "bakery": "bakery",
    "bar": "bar",
    "beauty": "beauty",
    "fitness": "fitness",
    "entertainment": "leisure",  # cinemas, theatres, KTV: the app calls them leisure
}

Row = dict[str, str]


def csv_path() -> Path:
    return Path(os.environ.get("REDCARD_STORES_CSV", str(DEFAULT_CSV)))


def member_store_rows(path: Path) -> list[Row]:
    """The rows of the data file a card programme would sign, in file order."""
    with path.open(encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh) if row["category"] in MEMBER_STORE_CATEGORIES]


def street_of(address: str) -> str:
    """The street of an address as the data file writes it: "衡山路890弄3号" → "衡山路",
    "12 Pucheng Road" → "Pucheng Road"."""
    return re.split(r"\d", re.sub(r"^[\d\s-]+", "", address), maxsplit=1)[0].strip()


def demo_branches(rows: list[Row]) -> list[tuple[Row, str]]:
    """The demo chain's signed branches and their names: its first `DEMO_BRANCHES` rows with an
    address on distinct streets, each named after its street ("星巴克 南京东路店")."""
    branches: dict[str, Row] = {}
    for row in rows:
        street = street_of(row["address"])
        if row["name"].strip() == DEMO_BRAND and street and street not in branches:
            branches[street] = row
    return [(row, f"{DEMO_BRAND} {street}店") for street, row in branches.items()][:DEMO_BRANCHES]


def _terms(source_id: str) -> dict[str, object]:
    """Deterministic, plausible terms from the OSM id: 10–20% off, some caps / minimums."""
    h = int.from_bytes(hashlib.sha256(source_id.encode()).digest()[:8], "big")
    return {
        "discount_bp": 1000 + (h % 11) * 100,
        "discount_cap_fen": [None, None, None, 5000, 10000][(h >> 8) % 5],
        "min_bill_fen": [0, 0, 0, 2000, 5000][(h >> 16) % 5],
        "exclusive_to_members": (h >> 24) % 5 == 0,
        "excluded_categories": "烟酒" if (h >> 32) % 7 == 0 else None,
    }


# Plausible weekly hours per category (weekday 0 = Monday): (weekdays, weekend) ranges, one
# set picked per store by its OSM id. A range ending at or before its start ends the next day.
_Ranges = list[tuple[str, str]]
HOURS_BY_CATEGORY: dict[str, list[tuple[_Ranges, _Ranges]]] = {
    "cafe": [
        ([("08:00", "21:00")], [("08:00", "21:00")]),
        ([("07:30", "20:00")], [("09:00", "21:00")]),
        ([("08:00", "22:00")], [("09:00", "22:00")]),
    ],
    "bakery": [([("07:00", "20:00")], [("07:30", "20:00")]), ([("07:30", "21:00")], [])],
    "bar": [
        ([("18:00", "02:00")], [("18:00", "02:00")]),
        ([("19:00", "01:00")], [("19:00", "03:00")]),
    ],
    "food": [
        ([("10:30", "14:00"), ("17:00", "21:30")], [("10:30", "14:30"), ("17:00", "22:00")]),
        ([("10:00", "22:00")], [("10:00", "22:00")]),
        ([("11:00", "14:00"), ("17:30", "22:00")], [("11:00", "22:00")]),
        ([("06:30", "10:00"), ("11:00", "20:00")], [("07:00", "20:00")]),  # breakfast and noodles
        ([("11:00", "23:00")], [("11:00", "02:00")]),  # late at the weekend
    ],
    "fitness": [([("06:30", "22:30")], [("08:00", "21:00")]), ([("06:00", "23:00")], [])],
    "beauty": [([("10:00", "21:00")], [("10:00", "21:00")]), ([("10:30", "21:30")], [])],
    "leisure": [([("10:00", "23:00")], [("10:00", "23:00")]), ([("12:00", "02:00")], [])],
}
DEFAULT_HOURS: list[tuple[_Ranges, _Ranges]] = [([("10:00", "21:00")], [("10:00", "21:00")])]


def generated_hours(category: str, key: str) -> str | None:
    """Believable hours for a store of `category`, fixed by `key` (its OSM id): one of the
    category's weekly patterns, an empty weekend meaning the weekday hours all week; some
    stores close one weekday (Monday or Tuesday)."""
    h = int.from_bytes(hashlib.sha256(f"hours:{key}".encode()).digest()[:8], "big")
    choices = HOURS_BY_CATEGORY.get(category, DEFAULT_HOURS)
    weekday, weekend = choices[h % len(choices)]
    week: dict[int, list[tuple[str, str]]] = {d: weekday for d in range(5)}
    week |= {d: weekend or weekday for d in (5, 6)}  # Friday night runs into Saturday
    if category in ("food", "bar", "beauty") and (h >> 16) % 5 == 0:
        del week[(h >> 24) % 2]  # closed on Mondays or Tuesdays
    return hours.from_week(week)


def real_hours(row: Row) -> str | None:
    """A data row's own hours, normalized; None when it has none we can read."""
    try:
        return hours.normalize(row.get("opening_hours"))
    except hours.BadHours:
        log.warning("demo stores: unreadable opening_hours for %s", row.get("source_id"))
        return None


async def fill_generated_hours(session: AsyncSession) -> int:
    """Guess hours for the demo's OSM stores that have none (`generated_hours`), marked as
    generated. Only empty hours are filled (the UPDATE says so too): real hours and hours a
    merchant saved stay. Returns the number of stores given hours."""
    rows = await session.execute(
        select(Store.id, Store.category, Store.source).where(
            Store.opening_hours.is_(None), Store.source.like("osm:%")
        )
    )
    by_text: dict[str, list[object]] = {}
    for store_id, category, source in rows:
        if text := generated_hours(category, source):
            by_text.setdefault(text, []).append(store_id)
    filled = 0
    for text, ids in by_text.items():
        for start in range(0, len(ids), 500):
            await session.execute(
                update(Store)
                .where(Store.id.in_(ids[start : start + 500]), Store.opening_hours.is_(None))
                .values(opening_hours=text, hours_generated=True)
            )
        filled += len(ids)
    return filled


async def seed_stores(session: AsyncSession, path: Path | None = None) -> int:
    """Bulk-insert OSM stores grouped into merchants. Returns the number of stores added."""
    if await session.scalar(select(Store.id).where(Store.source.like("osm:%")).limit(1)):
        return 0
    path = path or csv_path()
    if not path.exists():
        log.warning("demo stores: %s not found; no stores seeded", path)
        return 0
    rows = member_store_rows(path)
    by_name: dict[str, list[tuple[Row, str]]] = {}  # merchant name -> (row, store name)
    for row in rows:
        name = row["name"].strip()
        if name != DEMO_BRAND:
            by_name.setdefault(name, []).append((row, name))
    if branches := demo_branches(rows):
        by_name[DEMO_BRAND] = branches
    unusable = await hash_password(secrets.token_urlsafe(24))  # owners of OSM stores cannot log in
    now = utc_now()
    users, merchants, stores = [], [], []
    for i, (name, group) in enumerate(sorted(by_name.items())):
        owner_id, merchant_id = new_id(), new_id()
        users.append(
            {
                "id": owner_id,
                "role": Role.merchant_staff,
                "phone": f"170{i:08d}",
                "display_name": f"{name[:56]} 店主",
                "password_hash": unusable,
                "created_at": now,
            }
        )
        merchants.append(
            {
                "id": merchant_id,
                "name": name[:100],
                "contact_name": "店主",
                "contact_phone": f"170{i:08d}",
                "owner_id": owner_id,
                "status": MerchantStatus.approved,
                "reviewed_at": now,
                "commission_bp": 0,
                "payment_fee_bp": 60,
                "fee_threshold_fen": 100_000_000,
                "fee_above_bp": 60,
                "created_at": now,
            }
        )
        for row, store_name in group:
            stores.append(
                {
                    "id": new_id(),
                    "merchant_id": merchant_id,
                    "name": store_name[:200],
                    "category": MEMBER_STORE_CATEGORIES[row["category"]],
                    "district": row["district"] or None,
                    "address": row["address"] or None,
                    "lat": float(row["lat"]),
                    "lng": float(row["lng"]),
                    "opening_hours": real_hours(row),
                    "status": StoreStatus.live,
                    "pay_code": secrets.token_urlsafe(12),
                    "source": row["source_id"][:64],
                    "created_at": now,
                    **_terms(row["source_id"]),
                }
            )
    for table, values in ((User, users), (Merchant, merchants), (Store, stores)):
        for start in range(0, len(values), 500):
            await session.execute(insert(table), values[start : start + 500])
    return len(stores)


async def seed_staff(session: AsyncSession, password: str) -> User | None:
    """The demo staff login owns one chain (all its stores) and is staff at each of them."""
    if await session.scalar(select(User.id).where(User.phone == STAFF_PHONE)):
        return None
    merchant = await session.scalar(select(Merchant).where(Merchant.name == DEMO_BRAND))
    if merchant is None:
        merchant = await session.scalar(
            select(Merchant).join(Store).where(Store.category == "cafe").limit(1)
        )
    if merchant is None:
        return None
    staff = await create_user(
        session,
        phone=STAFF_PHONE,
        password=password,
        display_name="店长小周",
        role=Role.merchant_staff,
    )
    merchant.owner_id = staff.id
    merchant.contact_name, merchant.contact_phone = "店长小周", STAFF_PHONE
    store_ids = (
        await session.scalars(select(Store.id).where(Store.merchant_id == merchant.id))
    ).all()
    session.add_all([StoreStaff(user_id=staff.id, store_id=sid) for sid in store_ids])
    await session.flush()
    return staff


async def ring_up(
    db: Database,
    staff_id: uuid.UUID,
    store_id: uuid.UUID,
    secret: MemberCode,
    key: bytes,
    bill_fen: int,
) -> None:
    """One demo visit at the till, now on the one clock: the member's current code, prepared
    and committed by `staff_id` (who must work at the store), in its own transaction. The
    till's refusals (AppError) are the caller's to handle."""
    code = codes.member_code(
        secret.handle, secret.secret, key, codes.step_at(utc_now().timestamp())
    )
    async with db.session_scope() as session:
        till = Till(ip="127.0.0.1", staff=await session.get_one(User, staff_id))
        prepared = await redemption.prepare(
            session,
            till,
            store_id=store_id,
            code=code,
            bill_fen=bill_fen,
            bill_yuan=None,
            key=key,
        )
        await redemption.commit(session, till, prepared.redemption.id)


async def seed_history(db: Database, member_phone: str, staff: User, key: bytes) -> int:
    """A few committed redemptions at the till for the demo member (who holds a card already:
    redcard.demo buys it), over the past days."""
    async with db.session_scope() as session:
        member = await session.scalar(select(User).where(User.phone == member_phone))
        if member is None:
            return 0
        card = await membership_repo.get_active_by_member(session, member.id)
        if card is None:
            log.info("demo history: the demo member has no card; skipped")
            return 0
        secret = await get_or_create_code(session, member.id)
        store_ids = [store.id for store in await access.stores_for(session, staff)][:3]
        starts_at = card.starts_at
    made = 0
    now = utc_now()
    start = max(starts_at, now - timedelta(days=4))
    for n, bill in enumerate((5200, 6850, 12800)):
        with clock.frozen(start + (now - start) * (n + 1) / 4):
            await ring_up(db, staff.id, store_ids[n % len(store_ids)], secret, key, bill)
            made += 1
    return made


async def seed(db: Database, *, member_phone: str, password: str) -> int:
    """Stores, the demo staff login and some history. Safe to call again."""
    secret_key = get_settings().secret_key
    async with db.session_scope() as session:
        added = await seed_stores(session)
        await fill_generated_hours(session)
        staff = await seed_staff(session, password)
    if staff is not None:
        await seed_history(db, member_phone, staff, codes.code_key(secret_key))
    return added
