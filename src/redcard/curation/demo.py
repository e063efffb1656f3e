"""Demo curation: a believable 精选 list built the way the real one is.

Sixteen demo reviewers (synthetic phones 1390100xxxx, the demo password) hold trial cards and
buy at 30 of the OSM demo stores, mostly in 黄浦区, 静安区 and 徐汇区, over the past 80 days:
real committed redemptions through the till (the store's owner at the till, `Till` /
`prepare` / `commit` under a moved clock, as `merchants/demo.py` does), each followed by a
review of varied stars. Inspections are recorded over the past year (most passing, one store
whose latest visit failed, one whose only pass is too old, one never visited). Everything runs
in time order, so each badge is granted and removed when it would have been, with its
decision; a final evaluation today is the daily run. About twenty stores end up 精选.

Idempotent (nothing happens once a demo reviewer exists), one transaction, and quick: one
hash for all reviewers' passwords and bulk user inserts."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.accounts.passwords import hash_password
from redcard.config import get_settings
from redcard.curation import inspections, reviews
from redcard.curation.inspections import CHECKLIST_KEYS
from redcard.curation.schemas import InspectionCreate
from redcard.curation.score import evaluate_store
from redcard.db import Database
from redcard.kit import time as clock
from redcard.kit.ids import new_id
from redcard.membership import service as membership
from redcard.models import (
    MemberCode,
    Merchant,
    Plan,
    PlanKind,
    PlanStatus,
    Role,
    Store,
    StoreStatus,
    User,
)
from redcard.redemption import codes
from redcard.redemption import service as redemption
from redcard.redemption.member import get_or_create_code
from redcard.redemption.till import Till

log = logging.getLogger(__name__)
PHONE_PREFIX = "1390100"
NAMES = (
    "陈晓", "王磊", "李娜", "张伟", "刘洋", "杨静", "赵敏", "黄勇",
    "周婷", "吴昊", "徐丽", "孙杰", "胡倩", "朱涛", "高雪", "林峰",
)  # fmt: skip
DISTRICTS = {"黄浦区": 9, "静安区": 9, "徐汇区": 9, "长宁区": 3}
CATEGORIES = ("food", "cafe", "bakery", "bar")
CARD_AGE = timedelta(days=85)
MAX_NAME = 24
HISTORY_DAYS = 80
INSPECTORS = ("探店员 王磊", "探店员 陈思")
GOOD = (5, 5, 4, 5, 5, 4, 5, 3, 5, 5, 4, 5, 5, 5)
MIXED = (4, 3, 2, 4, 3, 5, 2, 3, 4)
WORDS = {
    5: (
        "出品稳定，会员折扣当场就给了，推荐！",
        "环境好，服务热情，还会再来。",
        "性价比很高，持卡买单很顺畅。",
    ),
    4: ("味道不错，高峰期要等一会儿。", "整体满意，折扣按公示给到。"),
    3: ("一般般，分量比以前少了。", "还可以，但店员不太清楚会员卡怎么用。"),
    2: ("等了很久，口味偏咸。", "体验一般，收银时折扣算错了一次。"),
}  # fmt: skip

# each store's story: its reviews' stars, and its inspections as (days ago, passed)
Story = tuple[tuple[int, ...], tuple[tuple[int, bool], ...]]


def _stories() -> list[Story]:
    """30 stories: 19 good stores inspected, 5 middling, 3 with too few reviews, and one each
    with a failed latest inspection, an expired one and none."""
    stories: list[Story] = []
    for k in range(19):
        stories.append((GOOD[: 6 + k % 9], ((20 + (k * 37) % 300, True),)))
    for k in range(5):
        stories.append((MIXED[: 6 + k % 4], ((40 + k * 50, True),) if k < 3 else ()))
    stories += [((5, 5, 4), ((60, True),))] * 3
    stories.append((GOOD[:10], ((200, True), (12, False))))  # failed at the last visit
    stories.append((GOOD[:9], ((390, True),)))  # passed, but too long ago by now
    stories.append((GOOD[:8], ()))  # never visited
    return stories


def _order(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


async def _stores(session: AsyncSession) -> list[Store]:
    """30 live OSM stores to curate: per district in `DISTRICTS`, a fixed pseudo-random pick."""
    picked: list[Store] = []
    for district, n in DISTRICTS.items():
        rows = (
            await session.scalars(
                select(Store).where(
                    Store.district == district,
                    Store.status == StoreStatus.live,
                    Store.source.like("osm:%"),
                    Store.category.in_(CATEGORIES),
                )
            )
        ).all()
        named = [s for s in rows if len(s.name) <= MAX_NAME]  # not a sentence typed as a name
        picked += sorted(named, key=lambda s: _order(s.source))[:n]
    return sorted(picked, key=lambda s: _order(str(s.source) + "#"))


async def _reviewers(session: AsyncSession, password: str, trial: Plan) -> list[User]:
    hashed = await hash_password(password)
    now = clock.utc_now()
    rows = [
        {
            "id": new_id(),
            "role": Role.member,
            "phone": f"{PHONE_PREFIX}{i + 1:04d}",
            "display_name": name,
            "password_hash": hashed,
            "created_at": now - CARD_AGE,
        }
        for i, name in enumerate(NAMES)
    ]
    await session.execute(insert(User), rows)
    users = [await session.get_one(User, row["id"]) for row in rows]
    with clock.frozen(now - CARD_AGE):
        for user in users:
            await membership.start_trial(session, user, trial.id)
    return users


def _local(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.zone())


@dataclass(frozen=True, slots=True)
class _Event:
    at: datetime
    store: int  # index into the stores
    stars: int = 0  # a purchase and its review, or
    passed: bool | None = None  # an inspection


def _events(stories: list[Story], today: date) -> list[_Event]:
    events: list[_Event] = []
    for s, (stars, visits) in enumerate(stories):
        for j, n in enumerate(stars):
            days_ago = 1 + (s * 13 + j * 29) % (HISTORY_DAYS - 1)
            hour = (12, 13, 18, 19, 20)[(s + j) % 5]
            events.append(
                _Event(_local(today - timedelta(days=days_ago), hour, (s + j * 7) % 60), s, n)
            )
        for days_ago, passed in visits:
            events.append(_Event(_local(today - timedelta(days=days_ago), 15, s), s, passed=passed))
    return sorted(events, key=lambda e: (e.at, e.store))


@dataclass
class _Buyers:
    """The demo reviewers in turn, each code step used once per member (as at a real till)."""

    members: list[User]
    secrets: dict[uuid.UUID, MemberCode]
    turn: int = 0
    used: set[tuple[uuid.UUID, int]] = field(default_factory=set)

    def next(self, store: int, step: int) -> User:
        while True:
            member = self.members[(store * 5 + self.turn) % len(self.members)]
            self.turn += 1
            if (member.id, step) not in self.used:
                self.used.add((member.id, step))
                return member


async def _buy_and_review(
    session: AsyncSession, buyers: _Buyers, store: Store, owner: User, event: _Event, key: bytes
) -> None:
    """A purchase at the till (the store's owner at it) and, 90 minutes later, its review."""
    with clock.frozen(event.at):
        step = codes.step_at(clock.utc_now().timestamp())
        member = buyers.next(event.store, step)
        secret = buyers.secrets[member.id]
        till = Till(ip="127.0.0.1", staff=owner)
        prepared = await redemption.prepare(
            session,
            till,
            store_id=store.id,
            code=codes.member_code(secret.handle, secret.secret, key, step),
            bill_fen=max(store.min_bill_fen, 6000)
            + (event.store * 997 + buyers.turn * 131) % 20000,
            bill_yuan=None,
            key=key,
        )
        committed = await redemption.commit(session, till, prepared.redemption.id)
    with clock.frozen(event.at + timedelta(minutes=90)):
        words = WORDS[min(max(event.stars, 2), 5)]
        text = words[buyers.turn % len(words)]
        await reviews.write_review(session, member, committed.redemption.id, event.stars, text)


async def _inspect(
    session: AsyncSession, operator: User, store_id: uuid.UUID, event: _Event
) -> None:
    passed = bool(event.passed)
    with clock.frozen(event.at):
        await inspections.record_inspection(
            session,
            operator,
            store_id,
            InspectionCreate(
                inspected_on=clock.business_day(event.at),
                inspector=INSPECTORS[event.store % len(INSPECTORS)],
                checklist={key: passed or key != "discount_honoured" for key in CHECKLIST_KEYS},
                passed=passed,
                notes="" if passed else "收银员称会员折扣不适用于套餐，与公示不符。",
            ),
        )


async def seed(db: Database, *, password: str, operator_phone: str) -> int:
    """Returns how many reviews it wrote (0 when seeded before or the stores are missing)."""
    key = codes.code_key(get_settings().secret_key)
    async with db.session_scope() as session:
        if await session.scalar(select(User.id).where(User.phone.like(f"{PHONE_PREFIX}%"))):
            return 0
        operator = await session.scalar(select(User).where(User.phone == operator_phone))
        trial = await session.scalar(
            select(Plan).where(Plan.kind == PlanKind.trial, Plan.status == PlanStatus.active)
        )
        stores = await _stores(session)
        if operator is None or trial is None or len(stores) < 10:
            log.info("curation demo: no operator, trial plan or stores; skipped")
            return 0
        merchants = await session.scalars(
            select(Merchant).where(Merchant.id.in_({s.merchant_id for s in stores}))
        )
        owners = {m.id: await session.get_one(User, m.owner_id) for m in merchants.all()}
        members = await _reviewers(session, password, trial)
        buyers = _Buyers(members, {m.id: await get_or_create_code(session, m.id) for m in members})
        written = 0
        for event in _events(_stories()[: len(stores)], clock.today()):
            store = stores[event.store]
            if event.passed is not None:
                await _inspect(session, operator, store.id, event)
            else:
                await _buy_and_review(session, buyers, store, owners[store.merchant_id], event, key)
                written += 1
        for store in stores:  # today's daily run
            await evaluate_store(session, store.id)
    return written
