"""Seed the demo city: an operator, plans and terms, and a few dozen members with cards.

The README's demo member (`MEMBER_PHONE`) holds an annual card bought a month ago, with some
savings and 买单 history (redcard.merchants.demo, redcard.storepay.demo); a separate trial
member (`TRIAL_MEMBER_PHONE`) is there for the trial flows. Seeding is idempotent: it does
nothing when the operator account already exists. Paid cards are bought through the real
purchase path and paid at the sandbox channel, so every one has its order, payment and ledger
entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from redcard.accounts.service import create_user
from redcard.companions import demo as companions_demo
from redcard.curation import demo as curation_demo
from redcard.db import Database
from redcard.delivery import demo as delivery_demo
from redcard.economics import demo as economics_demo
from redcard.events import demo as events_demo
from redcard.kit import time as clock
from redcard.membership import renewal_demo
from redcard.membership import service as membership
from redcard.membership.schemas import PlanCreate
from redcard.merchants import demo as merchants_demo
from redcard.models import Payment, PlanKind, RefundPolicy, Role, User
from redcard.payments import service as payments
from redcard.payments.channels import Channels
from redcard.payments.sandbox import Fault, SandboxChannel
from redcard.storepay import demo as storepay_demo

OPERATOR_PHONE = "13800000000"
SECOND_OPERATOR_PHONE = "13800000001"
MEMBER_PHONE = "13900000000"  # annual card, some savings, 买单 history
TRIAL_MEMBER_PHONE = "13900000001"  # a 90-day trial, for the trial flows
PASSWORD = "redcard-demo"
MEMBER_CARD_AGE = timedelta(days=30)  # the demo member bought the annual card a month ago
TRIAL_AGE = timedelta(days=10)
BUYERS_AGE = timedelta(days=35)  # the other paying members joined five weeks ago
TERMS_BODY = """1. 小红卡年卡售价 ¥168，有效期 365 天，自付款成功起算。
2. 持卡人在精选门店买单可享不低于九折的优惠，具体以门店公示为准。
3. 自动续费默认关闭；如您开启，我们会在每次续费前至少 5 天提醒您。
4. 购买后 7 天内未使用权益可全额退款；计划终止时，所有付费会员将获全额退款，无需申请。
5. 我们仅保存您的手机号、支付凭证和到店记录；注销账号后删除个人信息。
"""


@dataclass(frozen=True)
class DemoLogins:
    operator: str = OPERATOR_PHONE
    second_operator: str = SECOND_OPERATOR_PHONE
    member: str = MEMBER_PHONE
    trial_member: str = TRIAL_MEMBER_PHONE
    staff: str = merchants_demo.STAFF_PHONE
    companion: str = companions_demo.COMPANION_PHONE  # the member's accepted companion
    chain: str = merchants_demo.DEMO_BRAND  # the staff's chain and its member stores
    chain_stores: int = merchants_demo.DEMO_BRANCHES
    password: str = PASSWORD


async def _pay_at_sandbox(db: Database, channels: Channels, out_trade_nos: Sequence[str]) -> None:
    """Pay these orders at the sandbox and confirm them by status query: the demo server is not
    listening yet, so the channel's notifications are held and dropped."""
    sandbox = channels.default
    assert isinstance(sandbox, SandboxChannel)
    for out_trade_no in out_trade_nos:
        sandbox.inject("notify", Fault.delay_notification)
        await sandbox.pay(out_trade_no)
    sandbox.held.clear()
    async with db.session_scope() as session:
        for out_trade_no in out_trade_nos:
            payment = await session.scalar(
                select(Payment).where(Payment.out_trade_no == out_trade_no)
            )
            assert payment is not None
            await payments.sync_payment(session, channels, payment)


async def seed(db: Database, channels: Channels, base_url: str, members: int = 36) -> bool:
    """Returns False when the demo was seeded before."""
    async with db.session_scope() as session:
        if await session.scalar(select(User.id).where(User.phone == OPERATOR_PHONE)):
            return False
        await create_user(
            session,
            phone=OPERATOR_PHONE,
            password=PASSWORD,
            display_name="运营小王",
            role=Role.operator,
        )
        await create_user(
            session,
            phone=SECOND_OPERATOR_PHONE,
            password=PASSWORD,
            display_name="运营小李",
            role=Role.operator,
        )
        await membership.publish_terms(
            session, membership.MEMBERSHIP_TERMS, "小红卡会员协议", TERMS_BODY
        )
        annual = await membership.create_plan(
            session,
            PlanCreate(
                code="annual",
                name="小红卡年卡",
                name_en="Redcard annual card",
                kind=PlanKind.paid,
                price_fen=16800,
                duration_days=365,
                refund_policy=RefundPolicy.full,
                cooling_off_days=7,
            ),
        )
        trial = await membership.create_plan(
            session,
            PlanCreate(
                code="trial90",
                name="90 天体验卡",
                name_en="90-day trial card",
                kind=PlanKind.trial,
                price_fen=0,
                duration_days=90,
                refund_policy=RefundPolicy.full,
                cooling_off_days=0,
            ),
        )
        member = await create_user(
            session, phone=MEMBER_PHONE, password=PASSWORD, display_name="小红", role=Role.member
        )
        trial_member = await create_user(
            session,
            phone=TRIAL_MEMBER_PHONE,
            password=PASSWORD,
            display_name="小蓝",
            role=Role.member,
        )
        with clock.frozen(clock.utc_now() - TRIAL_AGE):
            await membership.start_trial(session, trial_member, trial.id)
        buyers = []
        for i in range(2, members):
            user = await create_user(
                session,
                phone=f"139{i:08d}",
                password=PASSWORD,
                display_name=f"会员{i:02d}",
                role=Role.member,
            )
            if i % 4 == 0:
                await membership.start_trial(session, user, trial.id)
            else:
                buyers.append(user.id)
        member_id, annual_id = member.id, annual.id
    with clock.frozen(clock.utc_now() - BUYERS_AGE):
        async with db.session_scope() as session:
            paid = []
            for buyer_id in buyers:
                bought = await membership.purchase(
                    session,
                    channels,
                    await session.get_one(User, buyer_id),
                    annual_id,
                    convert_trial=False,
                    base_url=base_url,
                )
                paid.append(bought.payment.out_trade_no)
        await _pay_at_sandbox(db, channels, paid)
    with clock.frozen(clock.utc_now() - MEMBER_CARD_AGE):
        async with db.session_scope() as session:
            bought = await membership.purchase(
                session,
                channels,
                await session.get_one(User, member_id),
                annual_id,
                convert_trial=False,
                base_url=base_url,
            )
            out_trade_no = bought.payment.out_trade_no
        await _pay_at_sandbox(db, channels, [out_trade_no])
    await merchants_demo.seed(db, member_phone=MEMBER_PHONE, password=PASSWORD)
    await events_demo.seed(db, channels, base_url, member_phone=MEMBER_PHONE)
    await storepay_demo.seed(db, channels, base_url, member_phone=MEMBER_PHONE)
    await curation_demo.seed(db, password=PASSWORD, operator_phone=OPERATOR_PHONE)
    await companions_demo.seed(db, primary_phone=MEMBER_PHONE, password=PASSWORD)
    await renewal_demo.seed(db, channels, base_url, password=PASSWORD)
    await delivery_demo.seed(db, member_phone=MEMBER_PHONE)
    await economics_demo.seed(db)
    return True
