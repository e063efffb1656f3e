"""Helpers for the renewal tests: a member with a paid card bought through the API and
auto-renew turned on (notice consented, mandate signed at the sandbox), and one worker pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select

from redcard.config import Settings
from redcard.db import Database
from redcard.membership import renewal_tasks
from redcard.models import Membership, MembershipStatus, Renewal, User
from redcard.payments.channels import Channels
from redcard.payments.sandbox import SandboxChannel
from tests.fixtures.factories import buy_card, idem, login, new_user, setup_plans


@dataclass
class Renewing:
    member: User
    headers: dict[str, str]
    mandate_no: str


async def renewing_member(
    client: httpx.AsyncClient, db: Database, sandbox: SandboxChannel, name: str = "小红"
) -> Renewing:
    plans = await setup_plans(db)
    member = await new_user(db, name=name)
    headers = await login(client, member)
    await buy_card(client, sandbox, headers, plans.annual.id)
    on = await client.post(
        "/api/v1/memberships/current/auto-renew", json={"consent": True}, headers=headers | idem()
    )
    assert on.status_code == 200, on.text
    assert on.json()["on"] is False  # not before the member signs at the channel
    mandate_no = on.json()["mandate_no"]
    await sandbox.sign_at_cashier(mandate_no)
    signed = await client.post(
        "/api/v1/memberships/current/auto-renew/signed",
        json={"mandate_no": mandate_no},
        headers=headers | idem(),
    )
    assert signed.json()["on"] is True, signed.text
    return Renewing(member, headers, mandate_no)


async def run_renewals(db: Database, channels: Channels, settings: Settings) -> int:
    async with db.session_scope() as session:
        return await renewal_tasks.run_step(session, channels, settings)


async def card_of(db: Database, member: User) -> Membership:
    async with db.session_scope() as session:
        card = await session.scalar(
            select(Membership).where(
                Membership.member_id == member.id, Membership.status == MembershipStatus.active
            )
        )
        assert card is not None
        return card


async def renewals_of(db: Database, member: User) -> list[Renewal]:
    async with db.session_scope() as session:
        return list(
            (
                await session.scalars(
                    select(Renewal)
                    .where(Renewal.member_id == member.id)
                    .order_by(Renewal.created_at)
                )
            ).all()
        )


DAY = timedelta(days=1)
