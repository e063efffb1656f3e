from __future__ import annotations

from sqlalchemy import select

from redcard.delivery import demo, inbox
from redcard.models import User
from tests.fixtures.factories import new_card_holder

DEMO_PHONE = "13900000000"


async def test_the_demo_member_finds_the_savings_summary_in_the_inbox(db) -> None:  # type: ignore[no-untyped-def]
    member = await new_card_holder(db, trial=False)
    async with db.session_scope() as session:
        (await session.get_one(User, member.id)).phone = DEMO_PHONE
    await demo.seed(db, member_phone=DEMO_PHONE)
    async with db.session_scope() as session:
        row = await session.scalar(select(User).where(User.phone == DEMO_PHONE))
        assert row is not None
        shown = await inbox.messages(session, row.id, "zh_CN")
    assert [m.subject for m in shown] == ["本月省钱月报"]
    assert shown[0].body == "本月为你省下 ¥0，会员费 ¥168，已回本 0%"
