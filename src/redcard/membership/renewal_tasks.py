"""Auto-renew, the worker's side (one step, `run_step`):

1. Notices. A paid card with auto-renew on and an active mandate, ending within
   `renewal_notice_days` (5 at least), gets its renewal row (one per card and period: a unique
   constraint) recording the price the notice tells, and the notice. The charge is due when the
   card ends, never sooner than `renewal_notice_days` after the notice.
2. Charges. A due renewal is claimed FOR UPDATE SKIP LOCKED (two workers never take the same
   one), then its card FOR UPDATE (the lock turning auto-renew off takes), re-checked, and
   charged once through the mandate with the renewal's `charge_no`, written before the channel
   hears of it. Success goes through the card-purchase path (order, payment, ledger, card): the
   new period starts at the old card's end. A worker killed after the channel charged leaves
   the row as it was; the next run charges the same number, which the channel answers with
   that same charge (never a second one). A timeout is resolved by a status query.
3. A failed charge is retried on `renewal_retry_schedule`, each attempt with a new charge
   number; after the last the renewal lapses and the member is told, with a one-tap renew link.

Re-priced plan: the member pays what the notice said (or the new price if lower). Retired plan:
no renewal, no charge, and the member is told why. Programme closing: no renewal.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.config import Settings
from redcard.kit.ids import reference
from redcard.kit.isolation import each_in_savepoint
from redcard.kit.money import format_fen
from redcard.kit.retry import error_text
from redcard.kit.sql import for_update_kwargs, one_of
from redcard.kit.time import local_time, utc_now
from redcard.membership import program, renewal_rules
from redcard.membership.renewal import OPEN, revoke_at_channel
from redcard.models import (
    MandateState,
    Membership,
    MembershipStatus,
    Order,
    OrderKind,
    Payment,
    PaymentMandate,
    Plan,
    PlanKind,
    PlanStatus,
    Renewal,
    RenewalAttempt,
    RenewalStatus,
)
from redcard.notifications import enqueue, message
from redcard.payments import service as payments
from redcard.payments.channels import Channels
from redcard.payments.port import (
    ChannelRejected,
    ChannelTimeout,
    ChargeRequest,
    MandateRevoked,
    Mandates,
    TradeQuery,
    TradeStatus,
)

log = logging.getLogger(__name__)

IN_DOUBT_WAIT = timedelta(minutes=10)  # a charge the channel did not answer: ask again then

RENEWAL_NOTICE = message(
    "renewal_notice",
    "Your card renews on {date}",
    "On {date} we will charge {amount} to renew your card for {days} more days. "
    "To stop it, turn off auto-renew in My card before then: {link}",
)
RENEWAL_CHARGED = message(
    "renewal_charged",
    "Your card is renewed",
    "We charged {amount}. Your card is now valid until {until}.",
)
RENEWAL_RETRY = message(
    "renewal_charge_failed",
    "We could not charge your renewal",
    "The charge of {amount} did not go through. We will try again on {date}.",
)
RENEWAL_LAPSED = message(
    "renewal_lapsed",
    "Your card has lapsed",
    "We could not charge {amount} to renew your card, so it has ended. Renew with one tap: {link}",
)
RENEWAL_PLAN_RETIRED = message(
    "renewal_plan_retired",
    "Your card will not renew",
    "Your card's plan is no longer sold, so your card will not renew and you will not be "
    "charged. It ends on {date}.",
)


@dataclass(frozen=True)
class Config:
    notice_days: int
    retries: tuple[timedelta, ...]
    base_url: str

    @classmethod
    def of(cls, settings: Settings) -> Config:
        return cls(
            settings.renewal_notice_days,
            renewal_rules.parse_schedule(settings.renewal_retry_schedule),
            settings.base_url,
        )


def _day(at: datetime) -> str:
    return local_time(at, "%Y-%m-%d", label=False)


async def run_step(
    session: AsyncSession, channels: Channels, settings: Settings, limit: int = 500
) -> int:
    """One pass: notices, then due charges, then revocations the channel has not confirmed."""
    config = Config.of(settings)
    done = await send_notices(session, config, limit)
    done += await charge_due(session, channels, config, limit)
    await revoke_at_channel(session, channels)
    return done


# -- 1. notices -------------------------------------------------------------------------------
async def send_notices(session: AsyncSession, config: Config, limit: int) -> int:
    now = utc_now()
    has_mandate = exists().where(
        PaymentMandate.member_id == Membership.member_id,
        PaymentMandate.status == MandateState.active,
    )
    noticed = exists().where(
        Renewal.membership_id == Membership.id, Renewal.period_starts_at == Membership.ends_at
    )
    cards = (
        await session.scalars(
            select(Membership)
            .where(
                Membership.status == MembershipStatus.active,
                Membership.kind == PlanKind.paid,
                Membership.auto_renew.is_(True),
                Membership.ends_at <= now + timedelta(days=config.notice_days),
                has_mandate,
                ~noticed,
            )
            .order_by(Membership.ends_at, Membership.id)
            .limit(limit)
            .with_for_update(**for_update_kwargs(session, skip_locked=True))
        )
    ).all()
    if not cards:
        return 0
    # another worker may have noticed some of these and committed just before we locked them
    # (our first statement's snapshot predates its commit): look again, now that we hold them
    done = set(
        await session.execute(
            select(Renewal.membership_id, Renewal.period_starts_at).where(
                one_of(session, Renewal.membership_id, [c.id for c in cards])
            )
        )
    )
    cards = [c for c in cards if (c.id, c.ends_at) not in done]
    if not cards:
        return 0
    mandates = {
        m.member_id: m
        for m in await session.scalars(
            select(PaymentMandate).where(
                one_of(session, PaymentMandate.member_id, {c.member_id for c in cards}),
                PaymentMandate.status == MandateState.active,
            )
        )
    }
    plans = {p.id: p for p in await session.scalars(select(Plan))}
    rows = []
    for card in cards:
        plan = plans[card.plan_id]
        retired = plan.status != PlanStatus.active
        due = renewal_rules.due_at(card.ends_at, now, config.notice_days)
        rows.append(
            Renewal(
                membership_id=card.id,
                member_id=card.member_id,
                plan_id=plan.id,
                mandate_id=mandates[card.member_id].id,
                period_starts_at=card.ends_at,
                price_fen=plan.price_fen,
                noticed_at=now,
                due_at=due,
                status=RenewalStatus.cancelled if retired else RenewalStatus.noticed,
                attempts=0,
                charge_no=reference("R"),
                in_doubt=False,
                reason="plan retired" if retired else None,
                finished_at=now if retired else None,
            )
        )
        if retired:
            enqueue(session, card.member_id, RENEWAL_PLAN_RETIRED, date=_day(card.ends_at))
        else:
            enqueue(
                session,
                card.member_id,
                RENEWAL_NOTICE,
                date=_day(due),
                amount=format_fen(plan.price_fen),
                days=plan.duration_days,
                link=f"{config.base_url}/card/auto-renew",
            )
    session.add_all(rows)
    await session.flush()
    return len(rows)


# -- 2. charges -------------------------------------------------------------------------------
@dataclass
class _Batch:
    cards: dict[uuid.UUID, Membership]
    mandates: dict[uuid.UUID | None, PaymentMandate]
    plans: dict[uuid.UUID, Plan]
    sales_open: bool
    superseded: set[uuid.UUID]  # members with another active card than the one renewing


async def charge_due(session: AsyncSession, channels: Channels, config: Config, limit: int) -> int:
    now = utc_now()
    due = (
        await session.scalars(
            select(Renewal)
            .where(Renewal.status.in_(OPEN), Renewal.due_at <= now)
            .order_by(Renewal.due_at, Renewal.id)
            .limit(limit)
            .with_for_update(**for_update_kwargs(session, skip_locked=True))
            .execution_options(populate_existing=True)
        )
    ).all()
    if not due:
        return 0
    # the cards, in key order: the lock turning auto-renew off takes (it waits for us, or we
    # for it, and then see auto_renew as it left it)
    cards = {
        c.id: c
        for c in await session.scalars(
            select(Membership)
            .where(one_of(session, Membership.id, {r.membership_id for r in due}))
            .order_by(Membership.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    mandates: dict[uuid.UUID | None, PaymentMandate] = {
        m.id: m
        for m in await session.scalars(
            select(PaymentMandate)
            .where(one_of(session, PaymentMandate.id, {r.mandate_id for r in due}))
            .execution_options(populate_existing=True)
        )
    }
    plans = {p.id: p for p in await session.scalars(select(Plan))}
    superseded = set(
        await session.scalars(
            select(Membership.member_id).where(
                one_of(session, Membership.member_id, {r.member_id for r in due}),
                Membership.status == MembershipStatus.active,
                ~one_of(session, Membership.id, set(cards)),
            )
        )
    )
    batch = _Batch(cards, mandates, plans, await program.sales_open(session), superseded)

    async def charge(renewal: Renewal) -> None:
        await _charge_one(session, channels, config, batch, renewal)

    async def set_aside(renewal: Renewal, exc: Exception) -> None:
        # unexpected: the row stays due with its number; a later pass tries it again
        log.error("renewal %s set aside: %s", renewal.id, error_text(exc))

    return await each_in_savepoint(session, due, charge, set_aside)


def _why_not(renewal: Renewal, batch: _Batch) -> str | None:
    card = batch.cards[renewal.membership_id]
    mandate = batch.mandates.get(renewal.mandate_id)
    plan = batch.plans[renewal.plan_id]
    if not card.auto_renew or mandate is None or mandate.status != MandateState.active:
        return "auto-renew turned off"
    if card.status not in (MembershipStatus.active, MembershipStatus.expired):
        return f"card {card.status.value}"
    if plan.status != PlanStatus.active:
        return "plan retired"
    if not batch.sales_open:
        return "programme closing"
    if renewal.member_id in batch.superseded:
        return "a newer card is active"
    return None


async def _charge_one(
    session: AsyncSession, channels: Channels, config: Config, batch: _Batch, renewal: Renewal
) -> None:
    now = utc_now()
    mandate = batch.mandates.get(renewal.mandate_id)
    plan = batch.plans[renewal.plan_id]
    channel = channels.get(mandate.channel) if mandate else channels.default
    assert isinstance(channel, Mandates)
    amount = renewal_rules.charge_fen(renewal.price_fen, plan.price_fen)
    why = _why_not(renewal, batch)
    if why is not None:
        # a run killed after charging this number leaves it charged at the channel: then the
        # renewal is owed, whatever changed since
        answer = await _ask(channel, renewal.charge_no)
        if answer is None or answer.status != TradeStatus.succeeded:
            if answer is None:
                renewal.in_doubt, renewal.due_at = True, now + IN_DOUBT_WAIT
                return
            _finish(renewal, RenewalStatus.cancelled, why, now)
            if why == "plan retired":
                enqueue(session, renewal.member_id, RENEWAL_PLAN_RETIRED, date=_day(now))
            return
        await _renewed(session, config, batch, renewal, answer, answer.amount_fen)
        return
    assert mandate is not None
    try:
        result = await channel.charge_mandate(
            ChargeRequest(mandate.mandate_no, renewal.charge_no, amount, plan.name)
        )
    except MandateRevoked:
        _finish(renewal, RenewalStatus.cancelled, "mandate revoked at the channel", now)
        return
    except ChannelRejected as exc:
        await _failed(session, config, renewal, plan, amount, error_text(exc))
        return
    except ChannelTimeout:
        answer = await _ask(channel, renewal.charge_no)
        if answer is None or answer.status in (TradeStatus.pending, TradeStatus.unknown):
            renewal.in_doubt, renewal.due_at = True, now + IN_DOUBT_WAIT
            return
        if answer.status == TradeStatus.failed:
            await _failed(session, config, renewal, plan, amount, "charge failed")
            return
        result = answer
    if result.status == TradeStatus.failed:  # this number failed before (a run killed since)
        await _failed(session, config, renewal, plan, amount, "charge failed")
        return
    if result.status != TradeStatus.succeeded:
        renewal.in_doubt, renewal.due_at = True, now + IN_DOUBT_WAIT
        return
    await _renewed(session, config, batch, renewal, result, amount)


async def _ask(channel: Mandates, charge_no: str) -> TradeQuery | None:
    try:
        return await channel.query_payment(charge_no)  # type: ignore[attr-defined]
    except ChannelTimeout:
        return None


def _finish(renewal: Renewal, status: RenewalStatus, reason: str | None, now: datetime) -> None:
    renewal.status = status
    renewal.reason = reason
    renewal.in_doubt = False
    renewal.finished_at = now


async def _failed(
    session: AsyncSession,
    config: Config,
    renewal: Renewal,
    plan: Plan,
    amount: int,
    error: str,
) -> None:
    now = utc_now()
    session.add(
        RenewalAttempt(
            renewal_id=renewal.id,
            charge_no=renewal.charge_no,
            amount_fen=amount,
            succeeded=False,
            error=error[:200],
        )
    )
    renewal.attempts += 1
    wait = renewal_rules.next_attempt(renewal.attempts, config.retries)
    if wait is not None:
        renewal.status = RenewalStatus.retrying
        renewal.due_at = now + wait
        renewal.charge_no = reference("R")  # each attempt its own number
        renewal.in_doubt = False
        renewal.reason = error[:200]
        enqueue(
            session,
            renewal.member_id,
            RENEWAL_RETRY,
            amount=format_fen(amount),
            date=_day(renewal.due_at),
        )
        return
    _finish(renewal, RenewalStatus.lapsed, error[:200], now)
    card = await session.get_one(Membership, renewal.membership_id)
    if card.status == MembershipStatus.active and card.ends_at <= now:
        card.status, card.ended_at = MembershipStatus.expired, now
    enqueue(
        session,
        renewal.member_id,
        RENEWAL_LAPSED,
        amount=format_fen(amount),
        link=f"{config.base_url}/buy/{plan.id}",
    )


async def _renewed(
    session: AsyncSession,
    config: Config,
    batch: _Batch,
    renewal: Renewal,
    charged: TradeQuery,
    amount: int,
) -> None:
    """The channel charged: record it as a card purchase (order, payment, ledger, card) whose
    period starts where the old card ends."""
    plan = batch.plans[renewal.plan_id]
    old = batch.cards[renewal.membership_id]
    mandate = batch.mandates.get(renewal.mandate_id)
    order = Order(
        member_id=renewal.member_id,
        kind=OrderKind.membership,
        plan_id=plan.id,
        terms_version_id=plan.terms_version_id,
        amount_fen=amount,
    )
    session.add(order)
    await session.flush()
    session.add(
        Payment(
            order_id=order.id,
            channel=mandate.channel if mandate else "sandbox",
            out_trade_no=renewal.charge_no,
            amount_fen=amount,
        )
    )
    await session.flush()
    await payments.confirm_payment(session, renewal.charge_no, amount, charged.channel_ref)
    card = await session.scalar(select(Membership).where(Membership.order_id == order.id))
    until = renewal.period_starts_at + timedelta(days=plan.duration_days)
    if card is not None:
        card.starts_at = renewal.period_starts_at
        card.ends_at = until
        card.auto_renew = old.auto_renew
    session.add(
        RenewalAttempt(
            renewal_id=renewal.id,
            charge_no=renewal.charge_no,
            amount_fen=amount,
            succeeded=True,
            error=None,
        )
    )
    renewal.attempts += 1
    renewal.order_id = order.id
    _finish(renewal, RenewalStatus.renewed, None, utc_now())
    enqueue(
        session,
        renewal.member_id,
        RENEWAL_CHARGED,
        amount=format_fen(amount),
        until=_day(until),
    )
    await session.flush()


__all__ = ["Config", "charge_due", "run_step", "send_notices"]
