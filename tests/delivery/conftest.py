from __future__ import annotations

from collections.abc import Iterator

import pytest

from redcard.delivery import sinks
from redcard.delivery.smtp import SmtpSink
from tests.delivery.smtpserver import SmtpServer, smtp_server

__all__ = ["smtp_server"]


@pytest.fixture
def smtp_sink(smtp_server: SmtpServer) -> Iterator[SmtpSink]:
    """The worker's sinks: the inbox and e-mail through the test's server (plain, loopback)."""
    sink = SmtpSink(
        smtp_server.host,
        smtp_server.port,
        tls="none",
        from_address="Redcard <noreply@redcard.test>",
        timeout=5,
    )
    sinks.use_sinks(sinks.InboxSink(), sink)
    yield sink
    sinks.use_sinks(sinks.InboxSink())
