"""Closing an account, at the member's request, after they re-enter their password.

In one transaction, under the user row's lock:
1. the card ends: a paid card is given back through the member's own refund
   (`membership.refunds.end_cards`: the one refund path, its policy's amount), any other
   active card ends without one; registrations for events to come are released and refunded
   (`events.service.release_for_member`);
2. the member's rows are treated as `tables.TABLES` declares: money records kept (amounts,
   dates, the anonymous user id), logins, codes and messages deleted, the user row and
   reviews' text overwritten; the phone becomes a tombstone, so it can sign up again;
3. `closed_at` is set, so the account cannot log in, and its sessions are gone.

A refund still in flight when the account closes carries on: its rows stay, and the worker
settles it as any other. `redcard ledger check` passes before and after, since no money row
or journal line changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Delete, Update, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.accounts.service import confirm_password
from redcard.datarights.tables import DELETE, TABLES, Person, Scrub
from redcard.errors import AppError, Conflict, Forbidden
from redcard.events.service import release_for_member
from redcard.kit.time import utc_now
from redcard.membership import refunds
from redcard.membership.refund_policy import SelfServiceQuote
from redcard.models import Refund, Role, User


class AccountClosed(Conflict):
    pass


class OnlyMembersClose(Forbidden):
    pass


@dataclass(frozen=True)
class ClosingPreview:
    """What closing would do now: the card's refund (None without a paid card)."""

    quote: SelfServiceQuote | None


@dataclass(frozen=True)
class Closed:
    closed_at: datetime
    refund: Refund | None


async def preview(session: AsyncSession, member: User) -> ClosingPreview:
    try:
        ctx = await refunds.quote_self_refund(session, member)
    except AppError:  # no paid card
        return ClosingPreview(None)
    return ClosingPreview(ctx.quote)


async def close_account(session: AsyncSession, member: User, password: str) -> Closed:
    """Close `member`'s account (see the module docstring). Refuses a wrong password, a
    second closing and anyone but a member."""
    user = await session.scalar(
        select(User)
        .where(User.id == member.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if user is None or user.closed_at is not None:
        raise AccountClosed("this account is already closed")
    if user.role != Role.member:
        raise OnlyMembersClose("only a member account can be closed here")
    await confirm_password(user, password)
    person = Person(user.id, user.phone, user.display_name)

    refund = await refunds.end_cards(session, user)
    await release_for_member(session, user.id)
    # (other capabilities' endings go here: a companion card, an auto-renewal mandate)
    await erase(session, person)
    now = utc_now()
    await session.execute(
        update(User)
        .where(User.id == person.id)
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    await session.refresh(user)
    return Closed(now, refund)


async def erase(session: AsyncSession, person: Person) -> None:
    """Delete or overwrite the person's rows, table by table, as `TABLES` declares."""
    await session.flush()  # what the card's ending wrote goes first
    for part in TABLES:
        where = part.rows(person)
        stmt: Delete | Update
        if part.on_close == DELETE:
            stmt = delete(part.model).where(where)
        elif isinstance(part.on_close, Scrub):
            stmt = update(part.model).where(where).values(**part.on_close.for_person(person))
        else:
            continue
        await session.execute(stmt.execution_options(synchronize_session=False))
