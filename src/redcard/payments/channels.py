"""Which channels this process has. The core asks for a channel by the name stored on a payment;
it never imports an adapter itself."""

from __future__ import annotations

from redcard.config import Settings
from redcard.payments.port import PaymentChannel
from redcard.payments.sandbox import SandboxChannel


class Channels:
    def __init__(self, channels: dict[str, PaymentChannel], default: str) -> None:
        self._channels = channels
        self.default_name = default

    def get(self, name: str) -> PaymentChannel:
        return self._channels[name]

    @property
    def default(self) -> PaymentChannel:
        return self._channels[self.default_name]

    def all(self) -> list[PaymentChannel]:
        return list(self._channels.values())

    async def start(self) -> None:
        """Start what a channel runs in this process: the sandbox's notification queue,
        which sends what an earlier process could not deliver."""
        for channel in self._channels.values():
            if isinstance(channel, SandboxChannel):
                await channel.start()

    async def close(self) -> None:
        """Let go of every channel. Never waits for the sandbox's callback retries: they stay
        in its queue for the next process."""
        for channel in self._channels.values():
            await channel.close()


def notify_url(base_url: str, channel: str) -> str:
    """Where `channel` posts its notifications to us."""
    return f"{base_url}/api/v1/payments/notify/{channel}"


def build_channels(settings: Settings) -> Channels:
    sandbox = SandboxChannel(
        database_url=settings.resolved_sandbox_url(),
        secret=settings.sandbox_secret,
        base_url=settings.base_url,
    )
    return Channels({sandbox.name: sandbox}, default=sandbox.name)
