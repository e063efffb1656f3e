"""The worker process for the crash test: the real Worker against the test databases, with
refund status polled at once and the channel's callbacks delivered into this same process
(so a SIGKILL can land in the middle of one). Run as `python -m tests.sunset.crash_worker`."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from redcard.config import Settings
from redcard.db import Database
from redcard.payments import callbacks
from redcard.payments.channels import Channels
from redcard.payments.refunds import due as refund_worker
from redcard.payments.sandbox import SandboxChannel
from redcard.worker import Worker


async def main() -> None:
    settings = Settings(
        database_url=os.environ["REDCARD_DATABASE_URL"],
        sandbox_secret="test-sandbox-secret",
        base_url="http://test",
    )
    refund_worker.POLL_AFTER = timedelta(0)
    db = Database(settings.database_url)
    sandbox = SandboxChannel(
        database_url=settings.resolved_sandbox_url(),
        secret=settings.sandbox_secret,
        base_url=settings.base_url,
    )
    channels = Channels({sandbox.name: sandbox}, default=sandbox.name)

    async def deliver(url: str, headers: dict[str, str], body: bytes) -> int:
        async with db.session_scope() as session:
            await callbacks.handle_notification(session, channels, sandbox.name, headers, body)
        return 200

    sandbox.deliver = deliver
    worker = Worker(settings, db, channels, batch=int(os.environ.get("CRASH_BATCH", "100")))
    await worker.run_forever(idle_sleep=0.05)


if __name__ == "__main__":
    asyncio.run(main())
