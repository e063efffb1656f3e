"""The 精选 badge: one function decides (`decide`), one applies (`apply`).

A store holds the badge while ALL of these hold: it is live, it has at least
`min_reviews` visible reviews, its community score is at least `min_score`, and its latest
in-person inspection passed no more than `inspection_max_days` business days ago. A later
failed inspection outweighs an earlier pass. Every grant and every removal is written to
`curation_decisions` with its reason and the evidence (score, review count, inspection); a
decision is written only when the badge changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.curation.rules import Rules
from redcard.kit.time import utc_now
from redcard.models import BadgeAction, CurationDecision, Store, StoreInspection, StoreStatus


class Reason(StrEnum):
    score_and_inspection = "score_and_inspection"  # the grant
    store_not_live = "store_not_live"
    too_few_reviews = "too_few_reviews"
    score_below_bar = "score_below_bar"
    no_inspection = "no_inspection"
    inspection_failed = "inspection_failed"
    inspection_expired = "inspection_expired"


# what pages say for each reason: English msgids, worded in Chinese in locale/zh_CN/curation.po
REASON_WORDS: dict[str, str] = {
    Reason.score_and_inspection: "Community score and a passing inspection both hold",
    Reason.store_not_live: "The store is not taking the card (paused or left)",
    Reason.too_few_reviews: "Too few member reviews",
    Reason.score_below_bar: "Community score below the bar",
    Reason.no_inspection: "Not inspected in person yet",
    Reason.inspection_failed: "The latest in-person inspection failed",
    Reason.inspection_expired: "The latest passing inspection is too old",
}


@dataclass(frozen=True, slots=True)
class InspectionFact:
    id: uuid.UUID
    inspected_on: date
    passed: bool


@dataclass(frozen=True, slots=True)
class Facts:
    """What the badge is decided on."""

    live: bool
    score: float | None
    review_count: int
    inspection: InspectionFact | None  # the latest one, passed or not


@dataclass(frozen=True, slots=True)
class Verdict:
    curated: bool
    reasons: tuple[Reason, ...]  # every condition that fails (empty when curated)

    @property
    def reason(self) -> Reason:
        """The reason a decision records: the grant's, or the first condition that fails."""
        return self.reasons[0] if self.reasons else Reason.score_and_inspection


def decide(facts: Facts, rules: Rules, today: date) -> Verdict:
    """The badge for these facts on business day `today`. Pure: no database, no clock."""
    reasons: list[Reason] = []
    if not facts.live:
        reasons.append(Reason.store_not_live)
    if facts.review_count < rules.min_reviews:
        reasons.append(Reason.too_few_reviews)
    if facts.score is None or facts.score < rules.min_score:
        reasons.append(Reason.score_below_bar)
    inspection = facts.inspection
    if inspection is None:
        reasons.append(Reason.no_inspection)
    elif not inspection.passed:
        reasons.append(Reason.inspection_failed)
    elif (today - inspection.inspected_on).days > rules.inspection_max_days:
        reasons.append(Reason.inspection_expired)
    return Verdict(curated=not reasons, reasons=tuple(reasons))


async def latest_inspection(session: AsyncSession, store_id: uuid.UUID) -> StoreInspection | None:
    """The store's latest inspection by its date (the later recorded of one day)."""
    return await session.scalar(
        select(StoreInspection)
        .where(StoreInspection.store_id == store_id)
        .order_by(
            StoreInspection.inspected_on.desc(),
            StoreInspection.created_at.desc(),
            StoreInspection.id.desc(),
        )
        .limit(1)
    )


async def latest_passing_on(session: AsyncSession, store_id: uuid.UUID) -> date | None:
    return await session.scalar(
        select(StoreInspection.inspected_on)
        .where(StoreInspection.store_id == store_id, StoreInspection.passed.is_(True))
        .order_by(StoreInspection.inspected_on.desc())
        .limit(1)
    )


def facts_of(store: Store, inspection: StoreInspection | None) -> Facts:
    return Facts(
        live=store.status == StoreStatus.live,
        score=store.score,
        review_count=store.review_count,
        inspection=None
        if inspection is None
        else InspectionFact(inspection.id, inspection.inspected_on, inspection.passed),
    )


async def apply(
    session: AsyncSession,
    store: Store,
    rules: Rules,
    today: date,
    *,
    inspection: StoreInspection | None,
    decided_by: uuid.UUID | None = None,
    note: str = "",
) -> CurationDecision | None:
    """Set the store's badge to the verdict of its current facts; when it changes, record the
    decision (the caller holds the store's row lock). Returns the decision, if one was made."""
    verdict = decide(facts_of(store, inspection), rules, today)
    if verdict.curated == store.curated:
        return None
    now = utc_now()
    store.curated = verdict.curated
    store.curated_at = now if verdict.curated else None
    decision = CurationDecision(
        store_id=store.id,
        action=BadgeAction.granted if verdict.curated else BadgeAction.removed,
        reason=verdict.reason,
        score=store.score,
        review_count=store.review_count,
        inspection_id=inspection.id if inspection is not None else None,
        decided_by=decided_by,
        note="; ".join(part for part in (note, ", ".join(verdict.reasons[1:])) if part),
        created_at=now,
    )
    session.add(decision)
    await session.flush()
    return decision
