"""Auto-renew, the member's side: turning it on (after the notice: price, next charge date,
how to turn it off) by signing a payment mandate at the channel, confirming the signature,
turning it off (which revokes the mandate), and what "my card" shows.

Auto-renew is off by default and on only while the card's `auto_renew` is set AND the member
holds an active mandate. Turning it off takes the member's card rows FOR UPDATE, the same lock
the renewal worker holds while it charges (membership/renewal_tasks.py), so a charge and a
turn-off never interleave: the charge either happened and the card renewed, or it does not
happen.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, InvalidInput, NotFound
from redcard.kit.ids import reference
from redcard.kit.time import utc_now
from redcard.membership import renewal_rules
from redcard.membership import repository as repo
from redcard.models import (
    MandateState,
    Membership,
    PaymentMandate,
    Plan,
    PlanKind,
    PlanStatus,
    Renewal,
    RenewalStatus,
    User,
)
from redcard.payments.channels import Channels, notify_url
from redcard.payments.port import ChannelError, MandateRequest, Mandates, MandateStatus

log = logging.getLogger(__name__)

OPEN = (RenewalStatus.noticed, RenewalStatus.retrying)


class NoRenewableCard(NotFound):
    pass


class AutoRenewNeedsConsent(InvalidInput):
    pass


class AutoRenewUnavailable(Conflict):
    pass


class RenewalChargeInFlight(Conflict):
    pass


@dataclass(frozen=True)
class AutoRenew:
    """What the auto-renew page shows."""

    card: Membership | None
    plan: Plan | None
    on: bool
    mandate: PaymentMandate | None
    next_charge_at: datetime | None  # when the next renewal charge is due (if on)
    price_fen: int  # what it will charge (the notice's price once noticed)
    renewal: Renewal | None  # the open or latest renewal of this card

    @property
    def renewable(self) -> bool:
        return (
            self.card is not None
            and self.plan is not None
            and self.card.kind == PlanKind.paid
            and self.plan.status == PlanStatus.active
        )


def _mandates(channels: Channels) -> Mandates:
    channel = channels.default
    if not isinstance(channel, Mandates):
        raise AutoRenewUnavailable("the payment channel does not offer automatic renewal")
    return channel


async def active_mandate(session: AsyncSession, member_id: uuid.UUID) -> PaymentMandate | None:
    return await session.scalar(
        select(PaymentMandate)
        .where(PaymentMandate.member_id == member_id, PaymentMandate.status == MandateState.active)
        .order_by(PaymentMandate.created_at.desc())
    )


async def view(session: AsyncSession, member: User, notice_days: int = 5) -> AutoRenew:
    card = await repo.get_active_by_member(session, member.id)
    plan = await session.get(Plan, card.plan_id) if card else None
    mandate = await active_mandate(session, member.id)
    if mandate is None:
        mandate = await session.scalar(
            select(PaymentMandate)
            .where(
                PaymentMandate.member_id == member.id,
                PaymentMandate.status == MandateState.pending,
            )
            .order_by(PaymentMandate.created_at.desc())
        )
    renewal = (
        await session.scalar(
            select(Renewal)
            .where(Renewal.membership_id == card.id)
            .order_by(Renewal.created_at.desc())
        )
        if card
        else None
    )
    on = bool(card and card.auto_renew and mandate and mandate.status == MandateState.active)
    next_at: datetime | None = None
    price = plan.price_fen if plan else 0
    if renewal is not None and renewal.status in OPEN:
        next_at, price = renewal.due_at, renewal_rules.charge_fen(renewal.price_fen, price)
    elif card is not None:
        next_at = renewal_rules.due_at(card.ends_at, utc_now(), notice_days)
    return AutoRenew(card, plan, on, mandate, next_at, price, renewal)


async def turn_on(
    session: AsyncSession, channels: Channels, member: User, *, consent: bool, base_url: str
) -> PaymentMandate:
    """After the notice, with the member's explicit consent: a mandate to sign at the channel.
    Auto-renew is on once the channel reports it signed (`confirm`)."""
    if not consent:
        raise AutoRenewNeedsConsent("read the notice and tick the box to turn auto-renew on")
    channel = _mandates(channels)
    card = await repo.get_active_by_member(session, member.id)
    if card is None or card.kind != PlanKind.paid:
        raise NoRenewableCard("auto-renew needs an active paid card")
    plan = await session.get_one(Plan, card.plan_id)
    if plan.status != PlanStatus.active:
        raise AutoRenewUnavailable("this card's plan is no longer sold, so it cannot renew")
    mandate = await active_mandate(session, member.id)
    if mandate is None:
        mandate = PaymentMandate(
            member_id=member.id,
            channel=channels.default_name,
            mandate_no=reference("M"),
            status=MandateState.pending,
        )
        session.add(mandate)
        await session.flush()
        try:
            created = await channel.sign_mandate(
                MandateRequest(
                    mandate_no=mandate.mandate_no,
                    subject=plan.name,
                    max_amount_fen=plan.price_fen,
                    period_days=plan.duration_days,
                    notify_url=notify_url(base_url, channels.default_name),
                    return_url=f"{base_url}/card/auto-renew/signed/{mandate.mandate_no}",
                )
            )
        except ChannelError as exc:
            raise AutoRenewUnavailable("the payment channel is not answering; try again") from exc
        mandate.sign_url = created.sign_url
        await session.flush()
        await _sync(session, channels, mandate, card)
    else:  # already signed (a card bought after an earlier one renewed): just switch it on
        card.auto_renew = True
        await session.flush()
    return mandate


async def _sync(
    session: AsyncSession, channels: Channels, mandate: PaymentMandate, card: Membership | None
) -> None:
    if mandate.status != MandateState.pending:
        return
    answer = await _mandates(channels).query_mandate(mandate.mandate_no)
    if answer.status == MandateStatus.active:
        mandate.status = MandateState.active
        mandate.channel_ref = answer.channel_ref
        mandate.signed_at = answer.signed_at or utc_now()
        if card is not None:
            card.auto_renew = True
    elif answer.status == MandateStatus.revoked:
        mandate.status = MandateState.revoked
        mandate.revoked_at = answer.revoked_at or utc_now()
    await session.flush()


async def confirm(
    session: AsyncSession, channels: Channels, member: User, mandate_no: str
) -> PaymentMandate:
    """Back from the channel's signing page: ask the channel; signed → auto-renew is on."""
    mandate = await session.scalar(
        select(PaymentMandate).where(
            PaymentMandate.mandate_no == mandate_no, PaymentMandate.member_id == member.id
        )
    )
    if mandate is None:
        raise NotFound("no such mandate")
    card = await repo.get_active_by_member(session, member.id)
    await _sync(session, channels, mandate, card)
    return mandate


async def turn_off(session: AsyncSession, channels: Channels, member: User) -> int:
    """Off at once: every card of the member stops renewing and every mandate is revoked (at
    the channel too; if it does not answer, the worker asks again, and our side never charges
    a revoked mandate). Returns the mandates revoked."""
    mandates = await stop_renewing(session, member.id)
    await revoke_at_channel(session, channels, mandates)
    return len(mandates)


async def stop_renewing(session: AsyncSession, member_id: uuid.UUID) -> list[PaymentMandate]:
    """Our side of turning auto-renew off: the member's cards stop renewing (under the card
    lock the renewal charge takes) and their mandates are revoked, marked for the channel to
    confirm (`revoke_at_channel`, now or by the worker's next pass). Closing an account calls
    this alone."""
    await session.execute(
        select(Membership.id)
        .where(Membership.member_id == member_id)
        .order_by(Membership.id)
        .with_for_update()
    )
    await session.execute(
        update(Membership)
        .where(Membership.member_id == member_id, Membership.auto_renew.is_(True))
        .values(auto_renew=False)
        .execution_options(synchronize_session="fetch")
    )
    mandates = list(
        (
            await session.scalars(
                select(PaymentMandate).where(
                    PaymentMandate.member_id == member_id,
                    PaymentMandate.status != MandateState.revoked,
                )
            )
        ).all()
    )
    now = utc_now()
    for mandate in mandates:
        mandate.status = MandateState.revoked
        mandate.revoked_at = now
        mandate.revoke_pending = True
    await session.flush()
    return mandates


async def revoke_at_channel(
    session: AsyncSession, channels: Channels, mandates: Sequence[PaymentMandate] = ()
) -> int:
    """Tell the channel about revoked mandates it has not confirmed (all such, when none are
    given: the worker's pass). Returns how many the channel confirmed."""
    if not mandates:
        mandates = list(
            (
                await session.scalars(
                    select(PaymentMandate).where(PaymentMandate.revoke_pending).limit(200)
                )
            ).all()
        )
    done = 0
    for mandate in mandates:
        channel = channels.get(mandate.channel)
        if not isinstance(channel, Mandates):
            continue
        try:
            await channel.revoke_mandate(mandate.mandate_no)
        except ChannelError as exc:
            log.warning("mandate %s: revoke not confirmed yet (%s)", mandate.mandate_no, exc)
            continue
        mandate.revoke_pending = False
        done += 1
    await session.flush()
    return done


async def wait_for_renewal_charge(session: AsyncSession, member_id: uuid.UUID) -> None:
    """Before a member's own refund: a renewal charge being made right now (the worker holds
    its row) finishes first: this waits for its lock, so the refund then sees the renewed card
    or the unrenewed one. A charge the channel has not answered yet refuses the refund."""
    rows = (
        await session.scalars(
            select(Renewal)
            .where(Renewal.member_id == member_id, Renewal.status.in_(OPEN))
            .order_by(Renewal.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    if any(r.in_doubt and r.status in OPEN for r in rows):
        raise RenewalChargeInFlight(
            "your renewal charge is still being confirmed by the payment channel; "
            "try again in a few minutes"
        )


async def has_open_renewal(session: AsyncSession, card_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Renewal.id).where(Renewal.membership_id == card_id, Renewal.status.in_(OPEN))
    )
    return found is not None


__all__ = [
    "OPEN",
    "AutoRenew",
    "RenewalChargeInFlight",
    "active_mandate",
    "confirm",
    "turn_off",
    "turn_on",
    "view",
    "wait_for_renewal_charge",
]
