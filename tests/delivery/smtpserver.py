"""A real SMTP server on loopback for the delivery tests (aiosmtpd), on a free port: it keeps
what it received, and can be told to refuse (451: try later; 550: never)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.fixtures.pgcluster import free_port


@dataclass
class Inbox:
    """The handler: what arrived, and the answer to give to DATA (None: accept)."""

    received: list[EmailMessage] = field(default_factory=list)
    refuse_with: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse_with is not None:
            return self.refuse_with
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.received]

    def body(self, i: int = 0) -> str:
        part = self.received[i].get_body(("plain",))
        assert part is not None
        return str(part.get_content())


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()
