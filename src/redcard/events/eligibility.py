"""Who may join an event: a usable card, paid, or a trial card where the event welcomes
trials. One rule, for registering (`service.register`, the waitlist's promotion) and for the
pages that say it before anyone taps 报名; its SQL twin for the sweep of registrations whose
card ended is `repository.eligible_card_clause`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from redcard.membership import repository as membership_repo
from redcard.models import Event, EventEligibility, Membership, PlanKind


class Admission(StrEnum):
    """Whether a member's card lets them into an event, and if not, what would."""

    admitted = "admitted"
    needs_card = "needs_card"  # no usable card
    needs_paid_card = "needs_paid_card"  # a trial card, at an event for paid cards only


def admission(event: Event, card: Membership | None, now: datetime) -> Admission:
    """Whether this card lets its holder into this event at `now`, and if not, what would."""
    if card is None or not card.is_usable(now):
        return Admission.needs_card
    if card.kind == PlanKind.paid or event.eligibility == EventEligibility.card_or_trial:
        return Admission.admitted
    return Admission.needs_paid_card


async def member_card(session: AsyncSession, member_id: uuid.UUID) -> Membership | None:
    return await membership_repo.get_active_by_member(session, member_id)


async def has_card_for(
    session: AsyncSession, member_id: uuid.UUID, event: Event, now: datetime
) -> bool:
    card = await member_card(session, member_id)
    return admission(event, card, now) == Admission.admitted
