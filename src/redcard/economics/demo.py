"""Demo history for the economics views: four weeks of till visits by the demo's paying
members at the real Shanghai stores, shaped like the seed programme's quarter (PRODUCT.md):
most members use the card a few times for ordinary bills at stores anyone can visit, so few
cards have paid back their ¥168 and the scarcity index is low. Deterministic (one seed), and
done once: it runs with the rest of `redcard demo` on an empty database.

Visits go through the till's own prepare and commit (the ledger's savings memo included),
rung up by each store's owner at the visit's time on the one clock.
"""

from __future__ import annotations

import logging
import math
import random
from datetime import timedelta

from sqlalchemy import select

from redcard.config import get_settings
from redcard.db import Database
from redcard.errors import AppError
from redcard.kit import time as clock
from redcard.kit.time import utc_now
from redcard.merchants.demo import ring_up
from redcard.models import (
    Membership,
    MembershipStatus,
    Merchant,
    MerchantStatus,
    PlanKind,
    Role,
    Store,
    StoreStatus,
    User,
)
from redcard.redemption import codes
from redcard.redemption.member import get_or_create_code

log = logging.getLogger(__name__)
DAYS = 28
STORES = 80  # the stores the demo's members frequent
VISITS = (0, 1, 1, 1, 2, 2, 3, 4, 6, 10)  # per member over DAYS: most rarely, a few often
MEDIAN_BILL_FEN = 8_000  # a meal or a coffee and cake; log-normal around it


async def seed(db: Database, *, rng_seed: int = 17) -> int:
    """The visits; returns how many were committed."""
    rng = random.Random(rng_seed)
    key = codes.code_key(get_settings().secret_key)
    now = utc_now()
    async with db.session_scope() as session:
        cards = (
            await session.execute(
                select(Membership.member_id, Membership.starts_at)
                .join(User, User.id == Membership.member_id)
                .where(
                    User.role == Role.member,
                    Membership.kind == PlanKind.paid,
                    Membership.status == MembershipStatus.active,
                    Membership.ends_at > now,
                )
                .order_by(User.phone)
            )
        ).all()
        stores = (
            await session.execute(
                select(Store.id, Merchant.owner_id)
                .join(Merchant, Merchant.id == Store.merchant_id)
                .where(Store.status == StoreStatus.live, Merchant.status == MerchantStatus.approved)
                .order_by(Store.source, Store.name, Store.lat)
            )
        ).all()
        secrets = {m: await get_or_create_code(session, m) for m, _ in cards}
    if not stores:
        return 0
    frequented = rng.sample(list(stores), min(STORES, len(stores)))
    visits = []
    for member_id, starts_at in cards:
        for _ in range(rng.choice(VISITS)):
            at = now - timedelta(days=rng.uniform(0.05, DAYS))
            if at <= starts_at:
                continue
            bill = round(MEDIAN_BILL_FEN * math.exp(rng.gauss(0, 0.6)), -1)
            visits.append((at, member_id, rng.choice(frequented), int(min(max(bill, 1500), 60000))))
    made = 0
    for at, member_id, (store_id, owner_id), bill_fen in sorted(visits, key=lambda v: v[0]):
        with clock.frozen(at):
            try:
                await ring_up(db, owner_id, store_id, secrets[member_id], key, bill_fen)
                made += 1
            except AppError as exc:  # a store's terms refuse this bill (a minimum): skip it
                log.info("demo visit skipped: %s", exc)
    return made
