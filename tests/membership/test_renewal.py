"""Auto-renew, clock-driven (the clock moves; nothing sleeps): the notice at least 5 days
before, the charge on the date, once, through the card-purchase path; retries; the lapse; the
new period starting at the old expiry; a price change between the notice and the charge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from redcard.kit import time as clock
from redcard.membership import service as membership
from redcard.membership.schemas import PlanUpdate
from redcard.models import (
    Membership,
    Notification,
    Payment,
    PlanStatus,
    RenewalAttempt,
    RenewalStatus,
)
from redcard.payments.sandbox import Fault
from tests.fixtures.factories import assert_ledger_ok, count, idem, login
from tests.membership.renewal_helpers import (
    DAY,
    card_of,
    renewals_of,
    renewing_member,
    run_renewals,
)

START = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


async def _templates(db, member) -> list[str]:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        return list(
            await session.scalars(
                select(Notification.template)
                .where(Notification.user_id == member.id)
                .order_by(Notification.created_at)
            )
        )


async def test_auto_renew_is_off_by_default(client, db, sandbox):
    from tests.fixtures.factories import buy_card, login, new_user, setup_plans

    plans = await setup_plans(db)
    member = await new_user(db)
    headers = await login(client, member)
    await buy_card(client, sandbox, headers, plans.annual.id)
    status = (await client.get("/api/v1/memberships/current/auto-renew", headers=headers)).json()
    assert status["on"] is False
    assert status["price_fen"] == 16800
    refused = await client.post(
        "/api/v1/memberships/current/auto-renew", json={"consent": False}, headers=headers | idem()
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "AutoRenewNeedsConsent"


async def test_notice_then_charge_on_the_date_and_the_new_period_starts_at_the_old_end(
    client, db, sandbox, channels, settings
):
    clock.freeze(START)
    who = await renewing_member(client, db, sandbox)
    old = await card_of(db, who.member)

    clock.freeze(old.ends_at - 6 * DAY)
    await run_renewals(db, channels, settings)
    assert await renewals_of(db, who.member) == []  # too early for the notice

    clock.freeze(old.ends_at - 5 * DAY)
    await run_renewals(db, channels, settings)
    (renewal,) = await renewals_of(db, who.member)
    assert renewal.status == RenewalStatus.noticed
    assert renewal.due_at - renewal.noticed_at >= timedelta(days=5)
    assert renewal.price_fen == 16800
    assert "renewal_notice" in await _templates(db, who.member)

    clock.freeze(old.ends_at - timedelta(minutes=1))
    await run_renewals(db, channels, settings)
    assert (await renewals_of(db, who.member))[0].status == RenewalStatus.noticed  # not yet

    clock.freeze(old.ends_at + timedelta(seconds=5))
    await run_renewals(db, channels, settings)
    await run_renewals(db, channels, settings)  # a second pass charges nothing more
    (renewal,) = await renewals_of(db, who.member)
    assert renewal.status == RenewalStatus.renewed
    new = await card_of(db, who.member)
    assert new.id != old.id
    assert new.starts_at == old.ends_at  # not "now"
    assert new.ends_at == old.ends_at + timedelta(days=365)
    assert new.auto_renew is True
    assert len(await sandbox.charges_of(who.mandate_no)) == 1
    assert await count(db, Payment) == 2  # the purchase and the one renewal charge
    assert "renewal_charged" in await _templates(db, who.member)
    await assert_ledger_ok(db)
    headers = await login(client, who.member)  # a year on: a new login
    status = (await client.get("/api/v1/memberships/current/auto-renew", headers=headers)).json()
    assert status["on"] is True
    assert status["next_charge_at"] is not None


async def test_failed_charge_is_retried_with_new_numbers_then_the_card_lapses(
    client, db, sandbox, channels, settings
):
    clock.freeze(START)
    who = await renewing_member(client, db, sandbox)
    old = await card_of(db, who.member)
    clock.freeze(old.ends_at - 5 * DAY)
    await run_renewals(db, channels, settings)

    sandbox.inject("charge", Fault.reject, times=3)  # insufficient balance, every time
    clock.freeze(old.ends_at)
    await run_renewals(db, channels, settings)
    (renewal,) = await renewals_of(db, who.member)
    assert renewal.status == RenewalStatus.retrying
    assert renewal.due_at == old.ends_at + DAY  # schedule "1d,3d"
    first_no = renewal.charge_no

    clock.freeze(old.ends_at + DAY - timedelta(minutes=1))
    await run_renewals(db, channels, settings)
    assert (await renewals_of(db, who.member))[0].attempts == 1  # not due yet

    clock.freeze(old.ends_at + DAY)
    await run_renewals(db, channels, settings)
    (renewal,) = await renewals_of(db, who.member)
    assert renewal.status == RenewalStatus.retrying
    assert renewal.charge_no != first_no
    assert renewal.due_at == old.ends_at + 4 * DAY

    clock.freeze(old.ends_at + 4 * DAY)
    await run_renewals(db, channels, settings)
    (renewal,) = await renewals_of(db, who.member)
    assert renewal.status == RenewalStatus.lapsed
    assert renewal.attempts == 3
    numbers = {no for _, no, _, _ in await sandbox.charges_of(who.mandate_no)}
    assert len(numbers) == 3  # each attempt its own charge number
    assert all(status == "failed" for _, _, status, _ in await sandbox.charges_of())
    assert await count(db, RenewalAttempt) == 3
    templates = await _templates(db, who.member)
    assert templates.count("renewal_charge_failed") == 2
    assert templates[-1] == "renewal_lapsed"
    async with db.session_scope() as session:
        note = await session.scalar(
            select(Notification).where(Notification.template == "renewal_lapsed")
        )
        assert note is not None
        assert "/buy/" in note.params["link"]
        card = await session.get_one(Membership, old.id)
        assert card.status.value == "expired"
    headers = await login(client, who.member)
    assert (await client.get("/api/v1/memberships/current", headers=headers)).status_code == 404
    assert await count(db, Payment) == 1
    await assert_ledger_ok(db)


async def test_a_retry_that_succeeds_renews_from_the_old_end(
    client, db, sandbox, channels, settings
):
    clock.freeze(START)
    who = await renewing_member(client, db, sandbox)
    old = await card_of(db, who.member)
    clock.freeze(old.ends_at - 5 * DAY)
    await run_renewals(db, channels, settings)
    sandbox.inject("charge", Fault.reject)
    clock.freeze(old.ends_at)
    await run_renewals(db, channels, settings)
    clock.freeze(old.ends_at + DAY)
    await run_renewals(db, channels, settings)
    (renewal,) = await renewals_of(db, who.member)
    assert renewal.status == RenewalStatus.renewed
    new = await card_of(db, who.member)
    assert new.starts_at == old.ends_at
    await assert_ledger_ok(db)


async def test_a_price_rise_after_the_notice_charges_the_noticed_price(
    client, db, sandbox, channels, settings
):
    clock.freeze(START)
    who = await renewing_member(client, db, sandbox)
    old = await card_of(db, who.member)
    clock.freeze(old.ends_at - 5 * DAY)
    await run_renewals(db, channels, settings)
    async with db.session_scope() as session:
        await membership.update_plan(session, old.plan_id, PlanUpdate(name="年卡", price_fen=19800))
    clock.freeze(old.ends_at)
    await run_renewals(db, channels, settings)
    ((_, _, status, amount),) = await sandbox.charges_of(who.mandate_no)
    assert (status, amount) == ("succeeded", 16800)  # what the notice said, not 198
    await assert_ledger_ok(db)


async def test_a_retired_plan_does_not_renew_and_says_why(client, db, sandbox, channels, settings):
    clock.freeze(START)
    who = await renewing_member(client, db, sandbox)
    old = await card_of(db, who.member)
    clock.freeze(old.ends_at - 5 * DAY)
    await run_renewals(db, channels, settings)
    async with db.session_scope() as session:
        await membership.update_plan(
            session, old.plan_id, PlanUpdate(name="年卡", status=PlanStatus.retired)
        )
    clock.freeze(old.ends_at)
    await run_renewals(db, channels, settings)
    (renewal,) = await renewals_of(db, who.member)
    assert (renewal.status, renewal.reason) == (RenewalStatus.cancelled, "plan retired")
    assert await sandbox.charges_of() == []
    assert (await _templates(db, who.member))[-1] == "renewal_plan_retired"


async def test_turning_off_revokes_the_mandate_and_nothing_is_charged(
    client, db, sandbox, channels, settings
):
    clock.freeze(START)
    who = await renewing_member(client, db, sandbox)
    old = await card_of(db, who.member)
    clock.freeze(old.ends_at - 5 * DAY)
    await run_renewals(db, channels, settings)
    headers = await login(client, who.member)
    off = await client.post("/api/v1/memberships/current/auto-renew/off", headers=headers | idem())
    assert off.status_code == 200
    assert off.json()["on"] is False
    assert (await sandbox.query_mandate(who.mandate_no)).status.value == "revoked"
    clock.freeze(old.ends_at)
    await run_renewals(db, channels, settings)
    (renewal,) = await renewals_of(db, who.member)
    assert renewal.status == RenewalStatus.cancelled
    assert await sandbox.charges_of() == []


async def test_a_self_refund_waits_for_a_renewal_charge_in_flight(
    client, db, sandbox, channels, settings
):
    clock.freeze(START)
    who = await renewing_member(client, db, sandbox)
    old = await card_of(db, who.member)
    clock.freeze(old.ends_at - 5 * DAY)
    await run_renewals(db, channels, settings)
    # the channel takes the charge but does not answer, nor does its status query
    sandbox.inject("charge", Fault.timeout_after_accept)
    sandbox.inject("query_payment", Fault.timeout)
    clock.freeze(old.ends_at)
    await run_renewals(db, channels, settings)
    (renewal,) = await renewals_of(db, who.member)
    assert renewal.in_doubt
    assert renewal.status == RenewalStatus.noticed

    headers = await login(client, who.member)
    refused = await client.post("/api/v1/refunds", headers=headers | idem())
    assert refused.status_code == 409
    assert refused.json()["error"] == "RenewalChargeInFlight"

    clock.freeze(old.ends_at + timedelta(minutes=10))
    await run_renewals(db, channels, settings)  # asks again: the charge went through
    (renewal,) = await renewals_of(db, who.member)
    assert renewal.status == RenewalStatus.renewed
    assert len(await sandbox.charges_of(who.mandate_no)) == 1
    # now the refund is about the renewed card, inside its own cooling-off period
    quote = await client.get("/api/v1/refunds/quote", headers=headers)
    assert quote.status_code == 200, quote.text
    await assert_ledger_ok(db)


async def test_a_card_bought_while_retrying_stops_the_renewal(
    client, db, sandbox, channels, settings
):
    from tests.fixtures.factories import buy_card, setup_plans

    clock.freeze(START)
    who = await renewing_member(client, db, sandbox)
    old = await card_of(db, who.member)
    clock.freeze(old.ends_at - 5 * DAY)
    await run_renewals(db, channels, settings)
    sandbox.inject("charge", Fault.reject)
    clock.freeze(old.ends_at)
    await run_renewals(db, channels, settings)  # failed; retry tomorrow
    clock.freeze(old.ends_at + DAY / 2)
    headers = await login(client, who.member)
    await buy_card(client, sandbox, headers, (await setup_plans(db)).annual.id)  # by hand
    clock.freeze(old.ends_at + DAY)
    await run_renewals(db, channels, settings)
    (renewal,) = await renewals_of(db, who.member)
    assert (renewal.status, renewal.reason) == (RenewalStatus.cancelled, "a newer card is active")
    assert [s for _, _, s, _ in await sandbox.charges_of(who.mandate_no)] == ["failed"]
    await assert_ledger_ok(db)
