"""Seed the demo city: an operator, plans and terms, and a few dozen members with cards.

Seeding is idempotent: it does nothing when the operator account already exists. Members'
cards are bought through the real purchase path and paid at the sandbox channel, so every
demo card has its order, payment and ledger entry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from redcard.accounts.service import create_user
from redcard.db import Database
from redcard.events import demo as events_demo
from redcard.membership import service as membership
from redcard.membership.schemas import PlanCreate
from redcard.merchants import demo as merchants_demo
from redcard.models import PlanKind, RefundPolicy, Role, User
from redcard.payments.channels import Channels
from redcard.payments.sandbox import SandboxChannel
from redcard.storepay import demo as storepay_demo

OPERATOR_PHONE = "13800000000"
SECOND_OPERATOR_PHONE = "13800000001"
MEMBER_PHONE = "13900000000"
PASSWORD = "redcard-demo"

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
    password: str = PASSWORD


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
                kind=PlanKind.trial,
                price_fen=0,
                duration_days=90,
                refund_policy=RefundPolicy.full,
                cooling_off_days=0,
            ),
        )
        await create_user(
            session, phone=MEMBER_PHONE, password=PASSWORD, display_name="小红", role=Role.member
        )
        buyers = []
        for i in range(1, members):
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
                bought = await membership.purchase(
                    session, channels, user, annual.id, convert_trial=False, base_url=base_url
                )
                buyers.append(bought.payment.out_trade_no)
    sandbox = channels.default
    assert isinstance(sandbox, SandboxChannel)
    # The demo server is not listening yet: hold notifications and confirm by status query.
    from redcard.payments.sandbox import Fault

    for out_trade_no in buyers:
        sandbox.inject("notify", Fault.delay_notification)
        await sandbox.pay(out_trade_no)
    sandbox.held.clear()
    async with db.session_scope() as session:
        from redcard.models import Payment
        from redcard.payments import service as payments

        for out_trade_no in buyers:
            payment = await session.scalar(
                select(Payment).where(Payment.out_trade_no == out_trade_no)
            )
            assert payment is not None
            await payments.sync_payment(session, channels, payment)
    await merchants_demo.seed(db, member_phone=MEMBER_PHONE, password=PASSWORD)
    await events_demo.seed(db, channels, base_url, member_phone=MEMBER_PHONE)
    await storepay_demo.seed(db, channels, base_url, member_phone=MEMBER_PHONE)
    return True
