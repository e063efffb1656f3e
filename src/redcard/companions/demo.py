"""The demo's companion card: the demo member (小红) shares the annual card with 小绿, who has
accepted and logs in with the demo password to show their own member code."""

from __future__ import annotations

from sqlalchemy import select

from redcard.accounts.service import create_user
from redcard.companions import service
from redcard.db import Database
from redcard.models import Role, User

COMPANION_PHONE = "13600000000"  # 小绿: the demo member's accepted companion


async def seed(db: Database, *, primary_phone: str, password: str) -> None:
    async with db.session_scope() as session:
        primary = await session.scalar(select(User).where(User.phone == primary_phone))
        assert primary is not None, "seed the demo member first"
        companion = await create_user(
            session,
            phone=COMPANION_PHONE,
            password=password,
            display_name="小绿",
            role=Role.member,
        )
        invitation = await service.invite(session, primary, COMPANION_PHONE)
        await service.accept(session, companion, invitation.id)
