"""Queries for plans, terms, orders and cards."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.kit.sql import rowcount
from redcard.kit.time import utc_now
from redcard.models import (
    Membership,
    MembershipStatus,
    Order,
    Plan,
    PlanKind,
    PlanStatus,
    TermsVersion,
)


async def list_plans(session: AsyncSession, *, include_retired: bool = False) -> Sequence[Plan]:
    stmt = select(Plan).order_by(Plan.price_fen.desc(), Plan.code)
    if not include_retired:
        stmt = stmt.where(Plan.status == PlanStatus.active)
    return (await session.scalars(stmt)).all()


async def latest_terms(session: AsyncSession, code: str) -> TermsVersion | None:
    return await session.scalar(
        select(TermsVersion).where(TermsVersion.code == code).order_by(TermsVersion.version.desc())
    )


async def get_active_by_member(session: AsyncSession, member_id: uuid.UUID) -> Membership | None:
    return await session.scalar(
        select(Membership).where(
            Membership.member_id == member_id, Membership.status == MembershipStatus.active
        )
    )


async def list_by_member(session: AsyncSession, member_id: uuid.UUID) -> Sequence[Membership]:
    return (
        await session.scalars(
            select(Membership)
            .where(Membership.member_id == member_id)
            .order_by(Membership.created_at.desc())
        )
    ).all()


async def has_had_trial(session: AsyncSession, member_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Membership.id).where(
            Membership.member_id == member_id, Membership.kind == PlanKind.trial
        )
    )
    return found is not None


async def list_orders_by_member(session: AsyncSession, member_id: uuid.UUID) -> Sequence[Order]:
    return (
        await session.scalars(
            select(Order).where(Order.member_id == member_id).order_by(Order.created_at.desc())
        )
    ).all()


async def expire_lapsed(session: AsyncSession, member_id: uuid.UUID | None = None) -> int:
    """Mark active cards whose end has passed as expired (for one member, or all)."""
    now = utc_now()
    stmt = (
        update(Membership)
        .where(Membership.status == MembershipStatus.active, Membership.ends_at <= now)
        .values(status=MembershipStatus.expired, ended_at=now)
    )
    if member_id is not None:
        stmt = stmt.where(Membership.member_id == member_id)
    # "fetch": the matched rows come back by RETURNING and only those objects are updated in
    # the session; the default ("evaluate") tests every card the session holds, which made a
    # renewal batch quadratic in its size (bench/renewal.py)
    result = await session.execute(stmt.execution_options(synchronize_session="fetch"))
    return rowcount(result)
