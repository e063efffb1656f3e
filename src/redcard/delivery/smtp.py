"""E-mail over SMTP (aiosmtplib): a few connections per batch, one message per delivery.

Each message carries its delivery's key as its Message-ID (`<key@sender-domain>`) and in an
`X-Redcard-Delivery` header, so a message sent again after a worker was killed between the
send and the commit is recognisable as the same message. A server that cannot be reached,
or answers 4xx, leaves the messages queued for e-mail (retried with backoff); a 5xx answer
for a message (a refused address) fails that message alone."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Literal

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.config import Settings
from redcard.delivery.sinks import Outgoing, Recipient

TLS = Literal["none", "starttls", "tls"]


class SmtpFailed(Exception):
    """The server refused a message or could not be reached. `transient`: worth retrying
    (no connection, a timeout, a 4xx answer); a 5xx answer is not."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def _refusal(exc: aiosmtplib.SMTPException) -> SmtpFailed:
    code = getattr(exc, "code", None)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        code = exc.recipients[0].code
    transient = not (isinstance(code, int) and 500 <= code < 600)
    return SmtpFailed(f"{code or ''} {exc}".strip(), transient=transient)


class SmtpSink:
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: TLS = "starttls",
        username: str | None = None,
        password: str | None = None,
        from_address: str = "Redcard <noreply@redcard.local>",
        timeout: float = 10.0,
        connections: int = 4,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.username, self.password = username, password
        self.from_address = from_address
        self.timeout = timeout
        self.connections = max(1, connections)
        self.domain = parseaddr(from_address)[1].rpartition("@")[2] or "redcard.local"

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSink:
        assert settings.smtp_host is not None
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            from_address=settings.smtp_from,
            timeout=settings.smtp_timeout_seconds,
        )

    def accepts(self, user: Recipient) -> bool:
        return bool(user.email)

    def message_id(self, key: str) -> str:
        return f"<{key}@{self.domain}>"

    def email(self, out: Outgoing) -> EmailMessage:
        assert out.email is not None
        mail = EmailMessage()
        mail["From"] = self.from_address
        mail["To"] = Address(addr_spec=out.email)
        mail["Subject"] = out.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = self.message_id(out.key)
        mail["X-Redcard-Delivery"] = out.key
        mail["Content-Language"] = "zh-CN" if out.locale == "zh_CN" else "en"
        mail.set_content(out.body)
        return mail

    async def send(
        self, session: AsyncSession, batch: Sequence[Outgoing]
    ) -> Mapping[str, Exception]:
        """The batch over up to `connections` connections at once, each sending its share in
        turn (a mail server answers each message in a few round trips)."""
        shares = [batch[i :: self.connections] for i in range(self.connections)]
        failed: dict[str, Exception] = {}
        for refused in await asyncio.gather(*(self._send_over_one(s) for s in shares if s)):
            failed.update(refused)
        return failed

    async def _send_over_one(self, batch: Sequence[Outgoing]) -> dict[str, Exception]:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.tls == "tls",
            start_tls=self.tls == "starttls",
            timeout=self.timeout,
        )
        try:
            await client.connect()
            if self.username:
                await client.login(self.username, self.password or "")
        except (aiosmtplib.SMTPException, OSError) as exc:
            # the server is down: every message waits for it, none is tried alone
            down = SmtpFailed(f"{self.host}:{self.port} unreachable: {exc}", transient=True)
            return {out.key: down for out in batch}
        failed: dict[str, Exception] = {}
        try:
            for out in batch:
                try:
                    await client.send_message(self.email(out))
                except aiosmtplib.SMTPException as exc:
                    failed[out.key] = _refusal(exc)
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        return failed
