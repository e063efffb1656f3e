"""The worker keeps faults where they happen: a step that raises, or a row that fails, never
stops the other steps or the other rows; it stops gracefully on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard import notifications
from redcard.delivery import sinks
from redcard.delivery.sinks import Outgoing
from redcard.models import Notification, Payment, Refund, RefundStatus
from redcard.ops import metrics
from redcard.payments import refunds
from redcard.worker import Worker
from tests.fixtures.factories import assert_ledger_ok, buy_card, login, new_user, setup_plans

ROOT = Path(__file__).resolve().parents[1]


for _template in ("welcome", "poison", "card_expiring"):
    notifications.message(_template, f"{_template} subject", f"{_template} body")


class PoisonSink:
    name = "poison"

    def __init__(self) -> None:
        self.delivered: list[str] = []

    def accepts(self, user: object) -> bool:
        return True

    async def send(
        self, session: AsyncSession, batch: Sequence[Outgoing]
    ) -> Mapping[str, Exception]:
        if any(o.template == "poison" for o in batch):
            raise ValueError("cannot render 'poison'")
        self.delivered.extend(o.template for o in batch)
        return {}


@pytest.fixture
def sink() -> Iterator[PoisonSink]:
    poison = PoisonSink()
    sinks.use_sink(poison)
    yield poison
    sinks.use_sink(sinks.InboxSink())


def _value(counter: object, *labels: str) -> float:
    return float(counter.labels(*labels)._value.get())  # type: ignore[attr-defined]


async def test_a_raising_step_and_a_poison_row_stop_nothing_else(
    db, settings, channels, sink
) -> None:  # type: ignore[no-untyped-def]
    member = await new_user(db)
    async with db.session_scope() as session:
        for template in ["welcome", "poison", "card_expiring", "event_reminder"]:
            notifications.enqueue(session, member.id, template)
    ran_after: list[str] = []

    async def boom(session: AsyncSession) -> int:
        raise RuntimeError("a bug in one step")

    async def later(session: AsyncSession) -> int:
        ran_after.append("later")
        return 0

    # the failing step runs FIRST, before notifications, so a stall would show
    worker = Worker(settings, db, channels)
    worker.steps = lambda: [("boom", boom), *Worker.steps(worker), ("later", later)]  # type: ignore[method-assign]
    failures = _value(metrics.WORKER_FAILURES, "boom")
    runs = _value(metrics.WORKER_RUNS, "notifications")

    done = await worker.run_until_idle()

    assert done == 3
    assert sorted(sink.delivered) == ["card_expiring", "event_reminder", "welcome"]
    assert ran_after  # the steps after the failing ones ran too
    assert _value(metrics.WORKER_FAILURES, "boom") >= failures + 1
    assert _value(metrics.WORKER_RUNS, "notifications") >= runs + 1
    async with db.session_scope() as session:
        poison = (
            await session.scalars(select(Notification).where(Notification.template == "poison"))
        ).one()
        left = await session.scalar(
            select(func.count()).where(
                Notification.sent_at.is_(None), Notification.failed_at.is_(None)
            )
        )
    assert poison.failed_at is not None
    assert poison.last_error == "ValueError: cannot render 'poison'"
    assert left == 0


def _cli(*args: str, url: str) -> subprocess.Popen[str]:
    env = os.environ | {"REDCARD_DATABASE_URL": url, "REDCARD_LOG_JSON": "true"}
    return subprocess.Popen(
        [sys.executable, "-m", "redcard.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_until_idle_exits_zero_and_sigterm_stops_gracefully(db, settings) -> None:  # type: ignore[no-untyped-def]
    member = await new_user(db)
    async with db.session_scope() as session:  # a message the worker process knows the words of
        notifications.enqueue(session, member.id, "event_reminder", event="Tea", code="A1")

    idle = _cli("worker", "--until-idle", url=settings.database_url)
    out, err = idle.communicate(timeout=120)
    assert idle.returncode == 0, err
    assert "1 rows done; nothing is due" in out
    async with db.session_scope() as session:
        assert await session.scalar(select(Notification.sent_at)) is not None

    forever = _cli("worker", url=settings.database_url)
    # waits on the real process: its JSON log says when it has started its first pass
    assert forever.stderr is not None
    for line in forever.stderr:
        if '"event": "worker started"' in line:
            break
    forever.send_signal(signal.SIGTERM)
    _, err = forever.communicate(timeout=60)
    assert forever.returncode == 0, err
    assert '"event": "worker stopped"' in err


async def test_a_poison_refund_goes_to_the_exceptions_queue_and_the_rest_settle(  # type: ignore[no-untyped-def]
    client, db, sandbox, settings, channels, monkeypatch
) -> None:
    """The channel reports another amount for one refund (AmountMismatch in the middle of the
    batch): that refund is set aside with the reason, the others settle, and the steps after
    the refunds (notifications) still run in the same --until-idle run."""
    plans = await setup_plans(db)
    for _ in range(3):
        await buy_card(client, sandbox, await login(client, await new_user(db)), plans.annual.id)
    async with db.session_scope() as session:
        payment_ids = sorted((await session.scalars(select(Payment.id))).all())
        asked = [
            await refunds.request_refund(session, pid, plans.annual.price_fen, "test")
            for pid in payment_ids
        ]
        poison_no = asked[1].out_refund_no
    member = await new_user(db)
    async with db.session_scope() as session:
        notifications.enqueue(session, member.id, "welcome")

    honest = sandbox.query_refunds

    async def disputed(out_refund_nos):  # type: ignore[no-untyped-def]
        answers = await honest(out_refund_nos)
        if poison_no in answers:
            answer = answers[poison_no]
            answers[poison_no] = replace(answer, amount_fen=answer.amount_fen - 1)
        return answers

    monkeypatch.setattr(sandbox, "query_refunds", disputed)
    monkeypatch.setattr(refunds.due, "POLL_AFTER", timedelta(0))  # poll at once, in this run
    worker = Worker(settings, db, channels)
    await worker.run_until_idle()

    async with db.session_scope() as session:
        rows = {r.out_refund_no: r for r in await session.scalars(select(Refund))}
        unsent = await session.scalar(select(func.count()).where(Notification.sent_at.is_(None)))
    poison = rows.pop(poison_no)
    assert poison.status == RefundStatus.failed
    assert poison.last_error is not None
    assert poison.last_error.startswith("AmountMismatch: channel reports 16799 fen")
    assert {r.status for r in rows.values()} == {RefundStatus.succeeded}
    assert unsent == 0  # the notifications step ran in the same run
    await assert_ledger_ok(db)
