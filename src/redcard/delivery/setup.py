"""Which sinks a process delivers through, from its settings."""

from __future__ import annotations

from redcard.config import Settings
from redcard.delivery.sinks import InboxSink, LogSink, Sink, use_sinks
from redcard.delivery.smtp import SmtpSink


def default_sinks(settings: Settings) -> list[Sink]:
    """The inbox, plus a file and e-mail when the settings ask for them."""
    sinks: list[Sink] = [InboxSink()]
    if settings.notifications_file is not None:
        sinks.append(LogSink(settings.notifications_file))
    if settings.smtp_host:
        sinks.append(SmtpSink.from_settings(settings))
    return sinks


def configure(settings: Settings) -> None:
    """At a worker's start: the settings' sinks when they name more than the inbox; else the
    sinks in place stay (the inbox, unless a test put its own)."""
    if settings.notifications_file is not None or settings.smtp_host:
        use_sinks(*default_sinks(settings))
