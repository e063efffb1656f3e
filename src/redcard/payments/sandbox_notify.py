"""The sandbox channel's outgoing notifications: signed, queued in its books in the
transaction of the change they report, sent right after it commits and, when the receiver does
not take them, again on the sandbox's schedule (2, 4, 8, 16 s; then it gives up, and the
receiver's status query finds the outcome).

The queue runs in any process that hosts the sandbox and calls `start()` (the app, the
worker). Closing never waits for retries: what is undelivered stays queued for the next
process, so a worker's `--once` ends at once even when nothing listens at the callback URL."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from redcard.kit.ids import new_id
from redcard.payments import sandbox_books as books
from redcard.payments.port import NotificationKind

log = logging.getLogger("redcard.payments.sandbox")

HEADER_TS, HEADER_NONCE, HEADER_SIG = (
    "x-sandbox-timestamp",
    "x-sandbox-nonce",
    "x-sandbox-signature",
)
MAX_ATTEMPTS = 5  # deliveries of one notification before the sandbox gives up on it
CLOSE_GRACE = 1.0  # seconds closing waits for deliveries already on the wire
QUEUE_POLL = 5.0  # seconds between looks at the queue (another process may have filled it)
QUEUE_MIN_WAIT = 0.5  # seconds: a notification still due (another process sends it) waits this
LEASE = timedelta(seconds=60)  # a claimed notification is due again if no attempt is recorded
RECORD_EVERY = 100  # attempts written to the queue's books at a time
Deliver = Callable[[str, dict[str, str], bytes], Awaitable[int]]


async def http_deliver(url: str, headers: dict[str, str], body: bytes) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(url, content=body, headers=headers)
        return response.status_code


def retry_delay(attempts: int) -> timedelta:
    """The sandbox's retry schedule: 2 s after the first attempt, then 4, 8, 16."""
    return timedelta(seconds=2**attempts)


@dataclass
class _Outgoing:
    id: str  # its row in the queue
    url: str
    body: bytes
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class _Send:
    """A queued notification as the sandbox will send it once the transaction commits."""

    outgoing: _Outgoing
    copies: int  # 2 when told to send it twice
    held: bool  # waits for flush_notifications()


class Notifier:
    """The notification half of `SandboxChannel` (which supplies the fields and hooks below)."""

    secret: str
    auto_deliver: bool
    sends_notifications: bool
    deliver: Deliver
    held: list[_Outgoing]
    _tasks: set[asyncio.Task[Any]]
    _queue: asyncio.Task[None] | None
    _wake: asyncio.Event
    _failing: set[str]
    _closing: bool

    def now(self) -> datetime:
        raise NotImplementedError

    @property
    def engine(self) -> AsyncEngine:
        raise NotImplementedError

    async def ensure_ready(self) -> None:
        raise NotImplementedError

    def _steer_notification(self) -> tuple[bool, int]:
        """For the next notification: held until a flush?, and how many copies to send."""
        raise NotImplementedError

    async def start(self) -> None:
        """Run the notification queue in this process (auto_deliver only): what this or an
        earlier process could not deliver goes out when its retry time comes."""
        if not self.auto_deliver or self._queue is not None:
            return
        await self.ensure_ready()
        self._queue = asyncio.get_running_loop().create_task(self._run_queue())

    async def _stop_sending(self) -> None:
        """Stop promptly: no new attempt starts, the queue stops waiting, a delivery already
        on the wire gets CLOSE_GRACE seconds to finish and be written down (then it is cut
        off), retries are not waited for. What is undelivered stays in the queue for the
        next process that hosts the sandbox."""
        self._closing = True
        self._wake.set()
        running = [t for t in (self._queue, *self._tasks) if t is not None]
        if running:
            _, late = await asyncio.wait(running, timeout=CLOSE_GRACE)
            for task in late:
                task.cancel()
            if late:  # each writes down the attempts it made before it ends
                await asyncio.wait(late, timeout=CLOSE_GRACE)
        self._queue, self._closing = None, False

    def sign(self, timestamp: str, nonce: str, body: bytes) -> str:
        message = timestamp.encode() + b"." + nonce.encode() + b"." + body
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()

    def signed_headers(self, body: bytes, at: datetime | None = None) -> dict[str, str]:
        timestamp = str(int((at or self.now()).timestamp()))
        nonce = secrets.token_hex(8)
        return {
            "content-type": "application/json",
            HEADER_TS: timestamp,
            HEADER_NONCE: nonce,
            HEADER_SIG: self.sign(timestamp, nonce, body),
        }

    def notification_body(
        self, kind: NotificationKind, reference: str, amount_fen: int, channel_ref: str
    ) -> bytes:
        return json.dumps(
            {
                "event_id": f"EVT{new_id().hex.upper()}",
                "event_type": kind.value,
                "reference": reference,
                "amount_fen": amount_fen,
                "channel_ref": channel_ref,
                "occurred_at": self.now().isoformat(),
            },
            separators=(",", ":"),
        ).encode()

    def _outgoing(
        self, url: str, kind: NotificationKind, reference: str, amount_fen: int, channel_ref: str
    ) -> _Outgoing:
        body = self.notification_body(kind, reference, amount_fen, channel_ref)
        return _Outgoing(new_id().hex, url, body)

    async def _queue_notifications(
        self, conn: AsyncConnection, outgoing: Sequence[_Outgoing]
    ) -> list[_Send]:
        """Queue notifications inside the transaction of the change they report; what to
        send once it commits (`_dispatch`). Held ones (tests, Fault.delay_notification) are
        off the schedule: only `flush_notifications()` sends them."""
        if not self.sends_notifications:
            return []
        now, sends, rows = self.now(), [], []
        for note in outgoing:
            delayed, copies = self._steer_notification()
            held = delayed or not self.auto_deliver
            sends.append(_Send(note, copies, held))
            rows.append(
                {
                    "id": note.id,
                    "url": note.url,
                    "body": note.body.decode(),
                    "attempts": 0,
                    # the queue's turn, should the attempt right after commit never report
                    "next_attempt_at": None if held else now + retry_delay(1),
                    "created_at": now,
                }
            )
        await books.queue_notifications(conn, rows)
        return sends

    def _dispatch(self, sends: Sequence[_Send]) -> None:
        """After the commit: held notifications wait for a flush; the others are sent now,
        like a real channel's: soon after, never inside the caller's request."""
        now: list[_Outgoing] = []
        for send in sends:
            copies = [replace(send.outgoing) for _ in range(send.copies)]
            (self.held if send.held else now).extend(copies)
        if now:
            self._spawn(self._deliver(now))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, outgoing: _Outgoing) -> bool:
        """One delivery; like a real channel, a non-2xx or an error means "try again later".
        A receiver that keeps failing is logged once, not at every attempt."""
        outgoing.attempts += 1
        try:
            status = await self.deliver(
                outgoing.url, self.signed_headers(outgoing.body), outgoing.body
            )
            reason = f"HTTP {status}"
        except Exception as exc:  # noqa: BLE001 - the receiver's failure is not ours
            status, reason = 599, str(exc) or type(exc).__name__
        if status < 300:
            self._failing.discard(outgoing.url)
            return True
        if outgoing.url in self._failing:
            log.debug("sandbox: notification to %s failed again: %s", outgoing.url, reason)
        else:
            self._failing.add(outgoing.url)
            log.warning(
                "sandbox: notifications to %s fail (%s); the sandbox retries them on its "
                "schedule, and the receiver's status queries find the outcomes meanwhile",
                outgoing.url,
                reason,
            )
        return False

    async def _deliver(self, outgoing: Sequence[_Outgoing]) -> int:
        """One attempt at each, in order, written to the queue's books as it goes; how many
        were delivered. Cut short (closing), it writes down what it did, and what it had no
        time to try is due at once for the next process."""
        delivered, recorded, done = 0, 0, []
        try:
            for note in outgoing:
                if self._closing:
                    break
                done.append((note, await self._attempt(note)))
                if len(done) == RECORD_EVERY:
                    await self._record(done)
                    delivered += sum(ok for _, ok in done)
                    recorded, done = recorded + len(done), []
        finally:
            await self._record(done, untried=outgoing[recorded + len(done) :])
        return delivered + sum(ok for _, ok in done)

    async def _record(
        self, done: Sequence[tuple[_Outgoing, bool]], untried: Sequence[_Outgoing] = ()
    ) -> None:
        """Delivered notifications leave the queue; an undelivered one is due again on the
        schedule (tests: held for the next flush), until its last attempt."""
        now, retries = self.now(), []
        for note, ok in done:
            if ok:
                continue
            next_at = None
            if note.attempts >= MAX_ATTEMPTS:
                log.warning(
                    "sandbox: gave up on a notification to %s after %d attempts",
                    note.url,
                    note.attempts,
                )
            elif self.auto_deliver:
                next_at = now + retry_delay(note.attempts)
            else:
                self.held.append(note)
            retries.append({"id": note.id, "attempts": note.attempts, "next_attempt_at": next_at})
        for note in untried:
            if not self.auto_deliver:
                self.held.append(note)
            retries.append(
                {
                    "id": note.id,
                    "attempts": note.attempts,
                    "next_attempt_at": now if self.auto_deliver else None,
                }
            )
        await books.record_attempts(self.engine, [n.id for n, ok in done if ok], retries)
        if any(r["next_attempt_at"] for r in retries):
            self._wake.set()

    async def flush_notifications(self) -> int:
        """Deliver held notifications (delayed ones, and retries of failed deliveries)."""
        held, self.held = self.held, []
        await self._deliver(held)
        return len(held)

    async def redeliver_due(self, limit: int = 500) -> int:
        """Send the queued notifications whose retry time has come (this process's or an
        earlier one's); how many were delivered."""
        await self.ensure_ready()
        now = self.now()
        rows = await books.claim_due(self.engine, now, now + LEASE, limit)
        return await self._deliver(
            [_Outgoing(id, url, body.encode(), attempts) for id, url, body, attempts in rows]
        )

    async def _run_queue(self) -> None:
        """The retry queue: sends what is due, then waits until the next is due (or a failed
        delivery schedules one sooner), looking again at least every QUEUE_POLL seconds. It
        only reads while nothing is due."""
        while not self._closing:
            self._wake.clear()
            wait = QUEUE_POLL
            try:
                next_at = await books.next_due(self.engine)
                if next_at is not None and next_at <= self.now():
                    await self.redeliver_due()
                    next_at = await books.next_due(self.engine)
                if next_at is not None:
                    ahead = (next_at - self.now()).total_seconds()
                    wait = min(wait, max(QUEUE_MIN_WAIT, ahead))
            except Exception as exc:  # noqa: BLE001 - the queue outlives a bad moment
                log.warning("sandbox: the notification queue could not run: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
