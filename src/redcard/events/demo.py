"""Demo events: upcoming members-only events, some full with a waitlist, one paid, one open to
trial cards. Registrations go through the real service (seats, waitlist positions, outbox).
Runs after the demo members' cards are active; uses a live store when one is seeded."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from redcard.db import Database
from redcard.errors import AppError
from redcard.events import service
from redcard.events.schemas import EventCreate
from redcard.kit.time import today, zone
from redcard.models import EventEligibility, Role, Store, StoreStatus, User
from redcard.payments.channels import Channels

# (title, description, days ahead, hour (the programme's zone), capacity, price fen, eligibility,
#  joiners)
EVENTS = [
    (
        "会员专属咖啡品鉴会",
        "主理人带你品鉴三款当季单品豆，含手冲体验。",
        3,
        19,
        12,
        0,
        EventEligibility.card,
        7,
    ),
    (
        "周末城市漫步：武康路老洋房",
        "资深向导带队，约 2 小时，轻松步行。",
        5,
        14,
        6,
        0,
        EventEligibility.card_or_trial,
        10,
    ),
    (
        "手作陶艺体验课",
        "每人完成一件作品，烧制后寄送到家。",
        8,
        15,
        8,
        5800,
        EventEligibility.card,
        0,
    ),
    ("会员品酒夜", "侍酒师讲解四款自然酒，搭配小食。", 10, 20, 4, 0, EventEligibility.card, 7),
    (
        "新年市集早鸟场",
        "提前一小时入场，会员专享限量好物。",
        20,
        10,
        30,
        0,
        EventEligibility.card_or_trial,
        5,
    ),
]


async def seed(db: Database, channels: Channels, base_url: str, member_phone: str) -> int:
    """Create the demo events and registrations; returns how many events were created."""
    async with db.session_scope() as session:
        operator = await session.scalar(
            select(User).where(User.role == Role.operator).order_by(User.created_at)
        )
        if operator is None:
            return 0
        store = await session.scalar(
            select(Store).where(Store.status == StoreStatus.live).order_by(Store.name)
        )
        members = list(
            await session.scalars(
                select(User)
                .where(User.role == Role.member, User.phone != member_phone)
                .order_by(User.phone)
            )
        )
        first_day = today()
        created = 0
        for n, (title, text, days, hour, capacity, price, who, joiners) in enumerate(EVENTS):
            day = first_day + timedelta(days=days)
            starts_at = datetime.combine(day, time(hour), tzinfo=zone())
            event = await service.create_event(
                session,
                operator,
                EventCreate(
                    title=title,
                    description=text,
                    store_id=store.id if store is not None and n == 0 else None,
                    venue=None if store is not None and n == 0 else "上海市徐汇区",
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(hours=2),
                    capacity=capacity,
                    price_fen=price,
                    eligibility=who,
                ),
            )
            created += 1
            for member in members[n * 3 : n * 3 + joiners]:
                try:
                    await service.register(session, channels, member, event.id, base_url=base_url)
                except AppError:  # e.g. a trial card on a card-only event
                    continue
        return created
