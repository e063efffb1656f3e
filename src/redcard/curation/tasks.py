"""The worker's curation step. Scores decay as reviews age and inspections expire, so the
badge is re-decided with time, not only when a review or an inspection arrives:

- every pass: badged stores that are no longer live lose the badge (a cheap indexed read);
- once per business day per store: every store due (`stores.curation_due_on <= today`, set
  to the next day by each evaluation, NULL for a store with nothing to evaluate) is
  re-evaluated, a batch per pass, until none is due.

Rows are claimed by id with FOR UPDATE SKIP LOCKED and each is evaluated in its own
savepoint: a store that fails is set aside until tomorrow and the others go on. Evaluating a
store twice changes nothing the second time, so a worker may be killed at any point."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.curation.rules import Rules, current_rules
from redcard.curation.score import evaluate_store
from redcard.kit.isolation import each_in_savepoint
from redcard.kit.retry import error_text
from redcard.kit.sql import for_update_kwargs
from redcard.kit.time import today
from redcard.models import Store, StoreStatus

log = logging.getLogger(__name__)


async def _claim(
    session: AsyncSession, where: list[ColumnElement[bool]], limit: int
) -> list[uuid.UUID]:
    return list(
        (
            await session.scalars(
                select(Store.id)
                .where(*where)
                .order_by(Store.id)
                .limit(limit)
                .with_for_update(**for_update_kwargs(session, skip_locked=True))
            )
        ).all()
    )


async def _evaluate(session: AsyncSession, store_ids: list[uuid.UUID], rules: Rules) -> int:
    day = today()

    async def handle(store_id: uuid.UUID) -> None:
        await evaluate_store(session, store_id, rules=rules)

    async def set_aside(store_id: uuid.UUID, exc: Exception) -> None:
        log.warning("curation: store %s not evaluated: %s", store_id, error_text(exc))
        await session.execute(
            update(Store)
            .where(Store.id == store_id)
            .values(curation_due_on=day + timedelta(days=1))
            .execution_options(synchronize_session=False)
        )

    return await each_in_savepoint(session, store_ids, handle, set_aside)


async def run_step(session: AsyncSession, rules: Rules | None = None, limit: int = 200) -> int:
    """One pass: stores that left (or paused) lose the badge; then a batch of due stores."""
    rules = rules or current_rules()
    left = [Store.curated.is_(True), Store.status != StoreStatus.live]
    not_live = await _claim(session, left, limit)
    done = await _evaluate(session, not_live, rules)
    due = await _claim(session, [Store.curation_due_on <= today()], limit)
    return done + await _evaluate(session, due, rules)
