"""The demo's auto-renew members, one at each stage, seeded through the real paths."""

from __future__ import annotations

from sqlalchemy import select

from redcard.membership import renewal_demo
from redcard.models import Membership, MembershipStatus, Renewal, RenewalStatus, User
from tests.fixtures.factories import assert_ledger_ok, setup_plans


async def test_demo_has_members_at_each_renewal_stage(db, channels, sandbox):
    await setup_plans(db)
    await renewal_demo.seed(db, channels, "http://test", password="redcard-demo")
    async with db.session_scope() as session:
        stages = {}
        for phone, *_ in renewal_demo.MEMBERS:
            user = await session.scalar(select(User).where(User.phone == phone))
            assert user is not None
            renewal = await session.scalar(select(Renewal).where(Renewal.member_id == user.id))
            active = await session.scalar(
                select(Membership).where(
                    Membership.member_id == user.id,
                    Membership.status == MembershipStatus.active,
                )
            )
            stages[phone] = (renewal.status if renewal else None, active is not None)
    assert stages == {
        "13900000100": (None, True),
        "13900000101": (RenewalStatus.noticed, True),
        "13900000102": (RenewalStatus.renewed, True),
        "13900000103": (RenewalStatus.lapsed, False),
    }
    await assert_ledger_ok(db)
