"""Messages reach people: the in-app inbox and e-mail (a real SMTP server on loopback), each
in the member's language; a sink that fails keeps its messages queued without holding up the
other sinks; a resend carries the same key."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from redcard import notifications
from redcard.delivery import inbox, outbox
from redcard.delivery import service as delivery
from redcard.delivery.reminders import CARD_EXPIRING_7D
from redcard.delivery.smtp import SmtpSink
from redcard.kit import time as clock
from redcard.kit.retry import backoff
from redcard.models import DeliveryStatus, Notification, NotificationDelivery, User
from tests.delivery.smtpserver import SmtpServer
from tests.fixtures.factories import new_user

ENDS = "2026-12-08T04:00:00+00:00"  # 12:00 in Shanghai


async def _member(db, locale: str | None, email: str | None = "xh@example.com") -> User:  # type: ignore[no-untyped-def]
    member = await new_user(db)
    async with db.session_scope() as session:
        row = await session.get_one(User, member.id)
        row.locale, row.email = locale, email
    return member


async def _expiring(db, member: User) -> uuid.UUID:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        note = notifications.enqueue(
            session, member.id, CARD_EXPIRING_7D, ends_at=ENDS, link="https://redcard.test/card"
        )
        await session.flush()
        return note.id


async def _send(db) -> int:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        return await delivery.send_pending(session)


async def _deliveries(db, note_id: uuid.UUID) -> dict[str, NotificationDelivery]:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        rows = await session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.notification_id == note_id)
        )
        return {d.sink: d for d in rows}


async def _note(db, note_id: uuid.UUID) -> Notification:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        return await session.get_one(Notification, note_id)


async def test_a_message_reaches_the_inbox_and_the_mailbox_in_the_members_language(
    db, smtp_server: SmtpServer, smtp_sink: SmtpSink
) -> None:  # type: ignore[no-untyped-def]
    zh = await _member(db, None, "zh@example.com")  # no choice made: Chinese, the default
    en = await _member(db, "en", "en@example.com")
    zh_note, en_note = await _expiring(db, zh), await _expiring(db, en)

    assert await _send(db) == 4  # two messages, two sinks each

    by_rcpt = {str(m["To"]): m for m in smtp_server.inbox.received}
    assert set(by_rcpt) == {"zh@example.com", "en@example.com"}
    assert str(by_rcpt["zh@example.com"]["Subject"]) == "你的会员卡还有 7 天到期"
    zh_body = str(by_rcpt["zh@example.com"].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "你的会员卡将于 2026-12-08 12:00 UTC+8 到期" in zh_body
    assert "https://redcard.test/card" in zh_body
    assert str(by_rcpt["en@example.com"]["Subject"]) == "Your card ends in 7 days"
    en_body = str(by_rcpt["en@example.com"].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "Your membership card ends on 2026-12-08 12:00 UTC+8." in en_body
    # the key the mail carries is the e-mail delivery's id
    smtp_row = (await _deliveries(db, en_note))["smtp"]
    assert str(by_rcpt["en@example.com"]["Message-ID"]) == f"<{smtp_row.id}@redcard.test>"
    assert str(by_rcpt["en@example.com"]["X-Redcard-Delivery"]) == str(smtp_row.id)

    async with db.session_scope() as session:
        zh_box = await inbox.messages(session, zh.id, "zh_CN")
        en_box = await inbox.messages(session, en.id, "en")
        assert await inbox.unread_count(session, zh.id) == 1
    assert [m.subject for m in zh_box] == ["你的会员卡还有 7 天到期"]
    assert [m.subject for m in en_box] == ["Your card ends in 7 days"]
    for note_id in (zh_note, en_note):
        assert (await _note(db, note_id)).sent_at is not None


async def test_a_failing_mail_server_keeps_the_mail_queued_and_the_inbox_still_gets_it(
    db, smtp_server: SmtpServer, smtp_sink: SmtpSink
) -> None:  # type: ignore[no-untyped-def]
    clock.freeze(clock.utc_now())
    member = await _member(db, "zh_CN")
    note_id = await _expiring(db, member)
    smtp_server.inbox.refuse_with = "451 4.3.0 try again later"

    assert await _send(db) == 1  # the inbox only
    rows = await _deliveries(db, note_id)
    assert rows["inbox"].status == DeliveryStatus.sent
    assert rows["smtp"].status == DeliveryStatus.queued
    assert rows["smtp"].attempts == 1
    assert "451" in (rows["smtp"].last_error or "")
    assert rows["smtp"].next_attempt_at == clock.utc_now() + backoff(1)
    assert (await _note(db, note_id)).sent_at is None  # not everywhere yet
    async with db.session_scope() as session:
        assert [m.subject for m in await inbox.messages(session, member.id, "zh_CN")] == [
            "你的会员卡还有 7 天到期"
        ]
        by_sink = {c.sink: c for c in await outbox.counts(session)}
    assert (by_sink["smtp"].queued, by_sink["smtp"].sent) == (1, 0)
    assert (by_sink["inbox"].queued, by_sink["inbox"].sent) == (0, 1)

    assert await _send(db) == 0  # not due before its backoff
    smtp_server.inbox.refuse_with = None  # the server recovers
    clock.advance(backoff(1))
    assert await _send(db) == 1
    assert smtp_server.inbox.subjects() == ["你的会员卡还有 7 天到期"]
    assert (await _deliveries(db, note_id))["smtp"].status == DeliveryStatus.sent
    assert (await _note(db, note_id)).sent_at is not None


async def test_a_mail_server_that_is_not_there_holds_up_no_other_sink(db) -> None:  # type: ignore[no-untyped-def]
    from redcard.delivery import sinks
    from tests.fixtures.pgcluster import free_port

    closed = SmtpSink("127.0.0.1", free_port(), tls="none", timeout=2)  # nothing listens
    sinks.use_sinks(closed, sinks.InboxSink())  # e-mail first: it must not stop the inbox
    try:
        member = await _member(db, "en")
        note_id = await _expiring(db, member)
        assert await _send(db) == 1
    finally:
        sinks.use_sinks(sinks.InboxSink())
    rows = await _deliveries(db, note_id)
    assert rows["inbox"].status == DeliveryStatus.sent
    assert (rows["smtp"].status, rows["smtp"].attempts) == (DeliveryStatus.queued, 1)
    assert "unreachable" in (rows["smtp"].last_error or "")


async def test_a_refused_address_fails_for_mail_alone(
    db, smtp_server: SmtpServer, smtp_sink: SmtpSink
) -> None:  # type: ignore[no-untyped-def]
    member = await _member(db, "en")
    note_id = await _expiring(db, member)
    smtp_server.inbox.refuse_with = "550 5.1.1 no such mailbox"
    assert await _send(db) == 1
    rows = await _deliveries(db, note_id)
    assert rows["smtp"].status == DeliveryStatus.failed  # retrying cannot mend a 5xx
    assert rows["inbox"].status == DeliveryStatus.sent
    note = await _note(db, note_id)
    assert note.failed_at is not None
    assert "550" in (note.last_error or "")
    async with db.session_scope() as session:
        failures = await outbox.recent_failures(session)
    assert [(f.sink, f.template) for f in failures] == [("smtp", CARD_EXPIRING_7D)]


async def test_a_resend_after_a_crash_carries_the_same_key(
    db, smtp_server: SmtpServer, smtp_sink: SmtpSink
) -> None:  # type: ignore[no-untyped-def]
    """The worker sends and dies before it commits: the next run sends the message again,
    and the receiving end sees the same Message-ID twice (at least once, recognisably)."""
    member = await _member(db, "zh_CN")
    note_id = await _expiring(db, member)

    class Killed(Exception):
        pass

    try:
        async with db.session_scope() as session:
            assert await delivery.send_pending(session) == 2
            raise Killed  # the commit never happens
    except Killed:
        pass
    assert await _send(db) == 2
    ids = [str(m["Message-ID"]) for m in smtp_server.inbox.received]
    assert len(ids) == 2
    assert ids[0] == ids[1]
    smtp_row = (await _deliveries(db, note_id))["smtp"]
    assert ids[0] == f"<{smtp_row.id}@redcard.test>"
    async with db.session_scope() as session:  # the inbox shows it once
        assert len(await inbox.messages(session, member.id, "zh_CN")) == 1


async def test_a_member_without_an_address_gets_the_inbox_only(
    db, smtp_server: SmtpServer, smtp_sink: SmtpSink
) -> None:  # type: ignore[no-untyped-def]
    member = await _member(db, "zh_CN", email=None)
    note_id = await _expiring(db, member)
    assert await _send(db) == 1
    assert set(await _deliveries(db, note_id)) == {"inbox"}
    assert smtp_server.inbox.received == []
    assert (await _note(db, note_id)).sent_at is not None
