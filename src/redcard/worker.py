"""The background worker: advances refunds, confirms stale payments by status query, expires
lapsed cards and sends queued notifications. Every step re-reads rows by id inside its own
unit of work, so the process can be killed at any instant and restarted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.config import Settings
from redcard.db import Database
from redcard.events import tasks as events_tasks
from redcard.kit.sql import for_update_kwargs
from redcard.kit.time import utc_now
from redcard.membership import repository as membership_repo
from redcard.models import Payment, PaymentStatus
from redcard.notifications import send_pending
from redcard.order_kinds import register_all
from redcard.payments import refunds
from redcard.payments import service as payments
from redcard.payments.channels import Channels
from redcard.settlement import tasks as settlement_tasks
from redcard.sunset import tasks as sunset_tasks

log = logging.getLogger(__name__)

Step = Callable[[AsyncSession], Awaitable[int]]


@dataclass
class Worker:
    settings: Settings
    db: Database
    channels: Channels
    batch: int | None = None  # rows a step claims; settings.worker_batch when not given
    extra_steps: list[tuple[str, Step]] = field(default_factory=list)

    def __post_init__(self) -> None:
        register_all()  # the steps confirm payments and settle refunds of every order kind

    @property
    def claim(self) -> int:
        return self.batch or self.settings.worker_batch

    async def _sync_stale_payments(self, session: AsyncSession) -> int:
        """Payments still pending after a minute: ask the channel (callbacks can be lost)."""
        stale = (
            await session.scalars(
                select(Payment)
                .where(
                    Payment.status == PaymentStatus.pending,
                    Payment.created_at < utc_now() - timedelta(minutes=1),
                    Payment.created_at > utc_now() - timedelta(days=2),
                )
                .order_by(Payment.created_at)
                .limit(self.claim)
                .with_for_update(**for_update_kwargs(session, skip_locked=True))
            )
        ).all()
        for payment in stale:
            await payments.sync_payment(session, self.channels, payment)
        return len(stale)

    async def _refunds(self, session: AsyncSession) -> int:
        return await refunds.process_due(session, self.channels, self.settings.base_url, self.claim)

    async def _expire(self, session: AsyncSession) -> int:
        return await membership_repo.expire_lapsed(session)

    async def _notify(self, session: AsyncSession) -> int:
        return await send_pending(session, self.claim)

    def steps(self) -> list[tuple[str, Step]]:
        return [
            ("refunds", self._refunds),
            ("payments", self._sync_stale_payments),
            ("expiry", self._expire),
            ("events", events_tasks.run_all),
            ("notifications", self._notify),
            ("sunset", sunset_tasks.run_campaign),
            ("settlement", settlement_tasks.settle_step),
            *self.extra_steps,
        ]

    async def run_once(self) -> dict[str, int]:
        """One pass over every step, each in its own unit of work."""
        done: dict[str, int] = {}
        for name, step in self.steps():
            async with self.db.session_scope() as session:
                done[name] = await step(session)
        return done

    async def run_until_idle(self, max_passes: int = 1000) -> int:
        total = 0
        for _ in range(max_passes):
            done = await self.run_once()
            total += sum(done.values())
            if not any(done.values()):
                break
        return total

    async def run_forever(self, idle_sleep: float = 1.0) -> None:
        while True:
            try:
                done = await self.run_once()
            except Exception:  # keep the worker alive; the step's unit of work rolled back
                log.exception("worker pass failed")
                done = {}
            if not any(done.values()):
                await asyncio.sleep(idle_sleep)


__all__ = ["Worker"]
