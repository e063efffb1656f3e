"""The background worker: advances refunds, confirms stale payments by status query, expires
lapsed cards, sends queued notifications, settles finished days and runs the sunset.

Faults stay where they happen. Every step runs in its own unit of work: a step that raises is
rolled back, logged and counted, and the other steps run on. Inside a step, a row that fails
is set aside (its attempts counted, a backoff set, the exceptions queue once retrying cannot
help) and the rest of the batch proceeds. Every step re-reads rows by id and claims them with
`FOR UPDATE SKIP LOCKED`, so any number of workers can run and any can be killed at any
instant: a killed worker's claims end with its transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.config import Settings
from redcard.curation import tasks as curation_tasks
from redcard.curation.rules import Rules
from redcard.db import Database
from redcard.delivery import reminders
from redcard.delivery import setup as delivery_setup
from redcard.delivery.service import send_pending
from redcard.events import tasks as events_tasks
from redcard.kit.isolation import each_in_savepoint
from redcard.kit.retry import error_text
from redcard.kit.sql import for_update_kwargs
from redcard.kit.time import utc_now
from redcard.membership import renewal_tasks
from redcard.membership import repository as membership_repo
from redcard.models import Payment, PaymentStatus
from redcard.ops import metrics
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
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.settings.apply_zone()
        register_all()  # the steps confirm payments and settle refunds of every order kind
        delivery_setup.configure(self.settings)  # the inbox; a file and e-mail when set

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

        async def sync(payment: Payment) -> None:
            await payments.sync_payment(session, self.channels, payment)

        async def set_aside(payment: Payment, exc: Exception) -> None:
            # the payment stays pending: its callback, or a later pass, confirms it
            log.warning("payment %s status query failed: %s", payment.id, error_text(exc))

        return await each_in_savepoint(session, stale, sync, set_aside)

    async def _refunds(self, session: AsyncSession) -> int:
        return await refunds.process_due(session, self.channels, self.settings.base_url, self.claim)

    async def _expire(self, session: AsyncSession) -> int:
        return await membership_repo.expire_lapsed(session)

    async def _notify(self, session: AsyncSession) -> int:
        return await send_pending(session, self.claim)

    async def _curation(self, session: AsyncSession) -> int:
        return await curation_tasks.run_step(session, Rules.of(self.settings), self.claim)

    async def _renewals(self, session: AsyncSession) -> int:
        return await renewal_tasks.run_step(session, self.channels, self.settings, self.claim)

    def steps(self) -> list[tuple[str, Step]]:
        return [
            ("refunds", self._refunds),
            ("payments", self._sync_stale_payments),
            ("expiry", self._expire),
            ("events", events_tasks.run_all),
            ("reminders", partial(reminders.run_step, base_url=self.settings.base_url)),
            ("notifications", self._notify),
            ("sunset", sunset_tasks.run_campaign),
            ("settlement", settlement_tasks.settle_step),
            ("curation", self._curation),
            ("renewals", self._renewals),
            *self.extra_steps,
        ]

    async def run_step(self, name: str, step: Step) -> int:
        """One run of one step in its own unit of work. A step that raises is rolled back,
        logged and counted, and reports no rows done; it never stops the other steps."""
        done = 0
        with metrics.Timer() as timer:
            try:
                async with self.db.session_scope() as session:
                    done = await step(session)
            except Exception:
                metrics.WORKER_FAILURES.labels(name).inc()
                log.exception("worker step %s failed; the other steps run on", name)
        metrics.WORKER_RUNS.labels(name).inc()
        metrics.WORKER_DURATION.labels(name).observe(timer.seconds)
        if done:
            metrics.WORKER_ROWS.labels(name).inc(done)
        return done

    async def run_once(self) -> dict[str, int]:
        """One pass over every step. After a stop request, the step in hand finishes its
        batch and the pass ends."""
        done: dict[str, int] = {}
        for name, step in self.steps():
            if self.stopping.is_set():
                break
            done[name] = await self.run_step(name, step)
        return done

    async def run_until_idle(self, max_passes: int = 1000) -> int:
        """Pass after pass until nothing is due (or a stop is requested); rows done in all."""
        total = 0
        for _ in range(max_passes):
            done = await self.run_once()
            total += sum(done.values())
            if not any(done.values()) or self.stopping.is_set():
                break
        return total

    async def run_forever(self, idle_sleep: float = 1.0) -> None:
        """Until a stop is requested (SIGTERM, SIGINT): then the batch in hand finishes."""
        log.info("worker started")
        while not self.stopping.is_set():
            done = await self.run_once()
            if not any(done.values()):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), idle_sleep)
        log.info("worker stopped")

    def request_stop(self) -> None:
        self.stopping.set()

    def stop_on_signals(self) -> None:
        """SIGTERM and SIGINT ask for a graceful stop (call inside the running loop)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)


__all__ = ["Worker"]
