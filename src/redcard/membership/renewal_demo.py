"""Demo members at each stage of auto-renew (seeded by redcard.demo, password as the demo's):

- 13900000100 小续: auto-renew on, the card ends in about 8 months (nothing due yet);
- 13900000101 小提: the 5-day notice went out two days ago; the charge is due in 3 days;
- 13900000102 小新: renewed two days ago (charged once; the new period began at the old end);
- 13900000103 小停: every charge failed (1 + 2 retries); the card lapsed yesterday.

Each card is bought through the real purchase path and paid at the sandbox; auto-renew is
turned on with consent and a mandate signed at the sandbox; the worker's own renewal steps
run with the clock set back, so every charge has its order, payment and ledger entry."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from redcard.accounts.service import create_user
from redcard.db import Database
from redcard.kit import time as clock
from redcard.membership import renewal, renewal_tasks
from redcard.membership import service as membership
from redcard.membership.renewal_rules import parse_schedule
from redcard.models import Payment, Plan, Role, User
from redcard.payments import service as payments
from redcard.payments.channels import Channels
from redcard.payments.sandbox import Fault, SandboxChannel

YEAR = timedelta(days=365)
DAY = timedelta(days=1)
MEMBERS = (
    # phone, name, card bought this long ago, failing charges
    ("13900000100", "小续", timedelta(days=120), 0),
    ("13900000101", "小提", YEAR - 3 * DAY, 0),
    ("13900000102", "小新", YEAR + 2 * DAY, 0),
    ("13900000103", "小停", YEAR + 5 * DAY, 3),
)


async def _steps(db: Database, channels: Channels, config: renewal_tasks.Config) -> None:
    async with db.session_scope() as session:
        await renewal_tasks.send_notices(session, config, 100)
        await renewal_tasks.charge_due(session, channels, config, 100)


async def _member(
    db: Database, channels: Channels, base_url: str, phone: str, name: str, password: str
) -> tuple[User, str]:
    """A member with an annual card bought now (the clock is set by the caller) and auto-renew
    on; returns the member and the mandate number."""
    sandbox = channels.default
    assert isinstance(sandbox, SandboxChannel)
    async with db.session_scope() as session:
        member = await create_user(
            session, phone=phone, password=password, display_name=name, role=Role.member
        )
        plan = await session.scalar(select(Plan).where(Plan.code == "annual"))
        assert plan is not None
        bought = await membership.purchase(
            session, channels, member, plan.id, convert_trial=False, base_url=base_url
        )
        out_trade_no = bought.payment.out_trade_no
    sandbox.inject("notify", Fault.delay_notification)
    await sandbox.pay(out_trade_no)
    sandbox.held.clear()
    async with db.session_scope() as session:
        payment = await session.scalar(select(Payment).where(Payment.out_trade_no == out_trade_no))
        assert payment is not None
        await payments.sync_payment(session, channels, payment)
    async with db.session_scope() as session:
        mandate = await renewal.turn_on(session, channels, member, consent=True, base_url=base_url)
        mandate_no = mandate.mandate_no
    await sandbox.sign_at_cashier(mandate_no)
    async with db.session_scope() as session:
        await renewal.confirm(session, channels, member, mandate_no)
    return member, mandate_no


async def seed(db: Database, channels: Channels, base_url: str, password: str) -> None:
    sandbox = channels.default
    assert isinstance(sandbox, SandboxChannel)
    config = renewal_tasks.Config(5, parse_schedule("1d,3d"), base_url)
    now = clock.utc_now()
    for phone, name, age, failing in MEMBERS:
        bought_at = now - age
        with clock.frozen(bought_at):
            await _member(db, channels, base_url, phone, name, password)
        ends_at = bought_at + YEAR
        moments: list[datetime] = [ends_at - 5 * DAY, ends_at, ends_at + DAY, ends_at + 4 * DAY]
        if failing:
            sandbox.inject("charge", Fault.reject, times=failing)
        for at in moments:
            if at <= now:
                with clock.frozen(at):
                    await _steps(db, channels, config)
