"""The worker process for the renewal kill test: the renewal step against the test databases,
pass after pass until nothing is due. With RENEWAL_SLOW_CHARGE set, each charge waits that many
seconds after the channel has taken it (so a SIGKILL lands between the channel's charge and
our commit). Run as `python -m tests.membership.renewal_crash_worker`."""

from __future__ import annotations

import asyncio
import os

from redcard.config import Settings
from redcard.db import Database
from redcard.membership import renewal_tasks
from redcard.order_kinds import register_all
from redcard.payments.channels import Channels
from redcard.payments.port import ChargeRequest, TradeQuery
from redcard.payments.sandbox import SandboxChannel

SLOW = float(os.environ.get("RENEWAL_SLOW_CHARGE", "0"))


class SlowSandbox(SandboxChannel):
    async def charge_mandate(self, request: ChargeRequest) -> TradeQuery:
        result = await super().charge_mandate(request)
        if SLOW:
            await asyncio.sleep(SLOW)  # a real process, killed from outside meanwhile
        return result


async def main() -> None:
    register_all()
    settings = Settings(
        database_url=os.environ["REDCARD_DATABASE_URL"],
        sandbox_secret="test-sandbox-secret",
        base_url="http://test",
    )
    db = Database(settings.database_url)
    sandbox = SlowSandbox(
        database_url=settings.resolved_sandbox_url(),
        secret=settings.sandbox_secret,
        base_url=settings.base_url,
        auto_deliver=False,
    )
    channels = Channels({sandbox.name: sandbox}, default=sandbox.name)
    while True:
        async with db.session_scope() as session:
            done = await renewal_tasks.run_step(session, channels, settings, limit=50)
        if not done:
            break
    await sandbox.close()
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
