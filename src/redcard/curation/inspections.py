"""In-person inspections: an operator records a visit to a store (its date, who visited, the
checklist as ticked, the verdict and notes). The visit fails when any required item fails or
the inspector says it failed. Recording one re-decides the store's badge at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.curation.rules import Rules
from redcard.curation.schemas import InspectionCreate
from redcard.curation.score import evaluate_store
from redcard.errors import Forbidden, InvalidInput, NotFound
from redcard.kit.sql import for_update_kwargs
from redcard.kit.time import today, utc_now
from redcard.models import CurationDecision, Role, Store, StoreInspection, User

MAX_NOTES = 2000
MAX_INSPECTOR = 64
EARLIEST = date(2000, 1, 1)  # an older date is a typo


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    key: str
    label: str  # an English msgid; locale/zh_CN/LC_MESSAGES/curation.po words it
    required: bool  # a failed required item fails the inspection


CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem("discount_honoured", "The card discount is honoured as advertised", True),
    ChecklistItem("card_accepted", "The card is accepted at the till without friction", True),
    ChecklistItem("hygiene", "Clean and hygienic", True),
    ChecklistItem("staff_know_programme", "Staff know the programme", False),
    ChecklistItem("hours_as_listed", "Open at the hours listed", False),
)
CHECKLIST_KEYS = tuple(item.key for item in CHECKLIST)


def verdict(checklist: dict[str, bool], inspector_passed: bool) -> bool:
    """Passed: the inspector says so and every required item passed."""
    return inspector_passed and all(checklist[i.key] for i in CHECKLIST if i.required)


def _checked(data: InspectionCreate) -> tuple[str, dict[str, bool], str]:
    inspector = data.inspector.strip()
    if not inspector:
        raise InvalidInput("give the inspector's name")
    if len(inspector) > MAX_INSPECTOR:
        raise InvalidInput(f"an inspector's name is at most {MAX_INSPECTOR} characters")
    if data.inspected_on > today():
        raise InvalidInput("an inspection date cannot be in the future")
    if data.inspected_on < EARLIEST:
        raise InvalidInput("check the inspection date")
    unknown = sorted(set(data.checklist) - set(CHECKLIST_KEYS))
    if unknown:
        raise InvalidInput(f"unknown checklist items: {', '.join(unknown)}")
    missing = [key for key in CHECKLIST_KEYS if key not in data.checklist]
    if missing:
        raise InvalidInput(f"tick every checklist item; missing: {', '.join(missing)}")
    notes = data.notes.strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"notes are at most {MAX_NOTES} characters")
    return inspector, {key: bool(data.checklist[key]) for key in CHECKLIST_KEYS}, notes


@dataclass(frozen=True, slots=True)
class Recorded:
    inspection: StoreInspection
    decision: CurationDecision | None  # the badge's change it caused, if any


async def record_inspection(
    session: AsyncSession,
    operator: User,
    store_id: uuid.UUID,
    data: InspectionCreate,
    *,
    rules: Rules | None = None,
) -> Recorded:
    if operator.role != Role.operator:
        raise Forbidden("only an operator may record an inspection")
    inspector, checklist, notes = _checked(data)
    # the store's row lock first: inserting the visit would take a key-share lock on it, and
    # two recorders each holding one while waiting for the row lock would deadlock
    locked = await session.scalar(
        select(Store.id).where(Store.id == store_id).with_for_update(**for_update_kwargs(session))
    )
    if locked is None:
        raise NotFound("no such store")
    inspection = StoreInspection(
        store_id=store_id,
        inspected_on=data.inspected_on,
        inspector=inspector,
        checklist=checklist,
        passed=verdict(checklist, data.passed),
        notes=notes,
        recorded_by=operator.id,
        created_at=utc_now(),
    )
    session.add(inspection)
    await session.flush()
    decision = await evaluate_store(
        session, store_id, rules=rules, decided_by=operator.id, note="an inspection was recorded"
    )
    return Recorded(inspection, decision)


async def inspections_of(session: AsyncSession, store_id: uuid.UUID) -> list[StoreInspection]:
    """The store's inspections, latest first."""
    return list(
        (
            await session.scalars(
                select(StoreInspection)
                .where(StoreInspection.store_id == store_id)
                .order_by(
                    StoreInspection.inspected_on.desc(),
                    StoreInspection.created_at.desc(),
                    StoreInspection.id.desc(),
                )
            )
        ).all()
    )


async def decisions_of(session: AsyncSession, store_id: uuid.UUID) -> list[CurationDecision]:
    """The store's badge decisions, latest first."""
    return list(
        (
            await session.scalars(
                select(CurationDecision)
                .where(CurationDecision.store_id == store_id)
                .order_by(CurationDecision.created_at.desc(), CurationDecision.id.desc())
            )
        ).all()
    )
