"""Daily settlement: statements equal the ledger, fees cross the threshold right, an undo after
settlement is clawed back on the next statement, payouts post once."""

from __future__ import annotations

import csv
import io
import os
import random
import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import func, select

from redcard.kit import time as clock
from redcard.kit.money import fee_fen
from redcard.ledger.accounts import Account
from redcard.ledger.service import balance
from redcard.models import Merchant, Statement, StatementLine
from redcard.settlement import repository as settlement_repo
from redcard.settlement import service as settlement
from redcard.worker import Worker
from tests.fixtures.factories import (
    assert_ledger_ok,
    at,
    count,
    idem,
    login,
    new_card_holder,
    new_shop,
    new_user,
    pay_bill,
    start_bill,
)

DAY = date(2026, 11, 20)


async def _statements(db) -> dict[str, Statement]:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        rows = (await session.scalars(select(Statement).order_by(Statement.day))).all()
        return {f"{s.merchant_id}:{s.day}": s for s in rows}


async def _check_against_ledger(db, statement: Statement) -> None:  # type: ignore[no-untyped-def]
    async with db.session_scope() as session:
        figures = await settlement.ledger_figures(session, statement)
    assert figures.charged_fen == statement.charged_fen
    assert figures.discount_fen == statement.discount_fen
    assert figures.fees_fen == statement.fee_fen + statement.commission_fen
    assert figures.clawback_fen == statement.clawback_fen
    assert figures.undone_net_fen == 0
    assert figures.net_payable_fen == statement.net_payable_fen


async def test_a_generated_day_of_bills_with_undos_settles_to_the_ledger(
    client, db, sandbox, settings, channels
):
    clock.freeze(at(DAY, 9))
    shop = await new_shop(db, stores=2, discount_bp=1200, cap_fen=3000)
    other = await new_shop(db, name="阿婆馄饨", discount_bp=1000)
    members = [await login(client, await new_card_holder(db, name=f"会员{i}")) for i in range(3)]
    staff_of = {
        s.id: await login(client, u)
        for sh in (shop, other)
        for s, u in zip(sh.stores, sh.staff, strict=True)
    }
    rng = random.Random(20261120)
    paid: list[tuple[object, dict[str, object], bool]] = []
    for i in range(14):
        clock.advance(timedelta(minutes=41))
        store = rng.choice(shop.stores + other.stores)
        amount = f"{rng.randint(1, 60000) / 100:.2f}"
        bill = await pay_bill(client, sandbox, rng.choice(members), store.pay_code, amount)
        undone = i % 4 == 1
        if undone:
            clock.advance(timedelta(minutes=5))
            response = await client.post(
                f"/api/v1/store-bills/by-id/{bill['id']}/undo", headers=staff_of[store.id] | idem()
            )
            assert response.status_code == 200, response.text
        paid.append((store.merchant_id, bill, undone))
    await start_bill(client, members[0], shop.store.pay_code, "99")  # never paid: not settled
    assert clock.utc_now() < at(DAY, 23, 59)

    clock.freeze(at(DAY + timedelta(days=1), 0, 30))
    worker = Worker(settings, db, channels)
    await worker.run_once()
    assert await count(db, Statement) == 0  # the undo window of late bills is still open
    clock.freeze(at(DAY + timedelta(days=1), 1, 5))
    await worker.run_once()
    statements = await _statements(db)
    assert len(statements) == 2

    for merchant_id in (shop.merchant.id, other.merchant.id):
        statement = statements[f"{merchant_id}:{DAY}"]
        kept = [b for m, b, undone in paid if m == merchant_id and not undone]
        dropped = [b for m, b, undone in paid if m == merchant_id and undone]
        charged = sum(int(b["charged_fen"]) for b in kept)  # type: ignore[call-overload]
        assert statement.bills_count == len(kept)
        assert statement.gross_fen == sum(int(b["bill_fen"]) for b in kept)  # type: ignore[call-overload]
        assert statement.discount_fen == sum(int(b["discount_fen"]) for b in kept)  # type: ignore[call-overload]
        assert statement.charged_fen == charged
        assert statement.undone_count == len(dropped)
        assert statement.fee_fen == fee_fen(charged, 60)
        assert statement.commission_fen == 0
        assert statement.net_payable_fen == charged - statement.fee_fen
        await _check_against_ledger(db, statement)
        async with db.session_scope() as session:
            owed = -await balance(session, Account.merchant_payable, str(merchant_id))
        assert owed == statement.net_payable_fen

    # settling again changes nothing
    await worker.run_once()
    async with db.session_scope() as session:
        assert len(await settlement.settle_day(session, DAY)) == 2
    assert await count(db, Statement) == 2
    assert await count(db, StatementLine) == 14
    await assert_ledger_ok(db)

    # the merchant reads it and downloads the CSV; another merchant cannot
    statement = statements[f"{shop.merchant.id}:{DAY}"]
    owner = await login(client, shop.owner)
    listed = (await client.get("/api/v1/merchant/statements", headers=owner)).json()
    assert [s["id"] for s in listed] == [str(statement.id)]
    exported = await client.get(f"/api/v1/merchant/statements/{statement.id}/csv", headers=owner)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0] == settlement.CSV_HEADER
    totals = {r[1]: r[6] for r in rows if r and r[0] == "total"}
    assert totals["net_payable"] == f"{statement.net_payable_fen / 100:.2f}"
    page = await client.get(f"/merchant/statements/{statement.id}", headers=owner)
    assert page.status_code == 200
    assert 'class="ok ledger-check"' in page.text
    stranger = await login(client, other.owner)
    assert (
        await client.get(f"/api/v1/merchant/statements/{statement.id}", headers=stranger)
    ).status_code == 404
    assert (
        await client.get(f"/merchant/statements/{statement.id}/csv", headers=stranger)
    ).status_code == 404

    # the operator pays it out: once
    operator = await login(client, await new_user(db, role="operator", name="运营"))
    paid_out = await client.post(
        f"/api/v1/operator/statements/{statement.id}/payout", headers=operator | idem()
    )
    assert paid_out.status_code == 200, paid_out.text
    assert paid_out.json()["status"] == "paid_out"
    again = await client.post(
        f"/api/v1/operator/statements/{statement.id}/payout", headers=operator | idem()
    )
    assert again.status_code == 409
    async with db.session_scope() as session:
        assert await balance(session, Account.merchant_payable, str(shop.merchant.id)) == 0
    await assert_ledger_ok(db)


async def test_the_fee_crosses_the_threshold_mid_day(client, db, sandbox):
    clock.freeze(at(DAY, 10))
    shop = await new_shop(
        db, discount_bp=1000, fee_threshold_fen=10_000, payment_fee_bp=60, fee_above_bp=30
    )
    member = await login(client, await new_card_holder(db))
    await pay_bill(client, sandbox, member, shop.store.pay_code, "50")  # collects ¥45.00
    clock.freeze(at(DAY + timedelta(days=1), 10))
    await pay_bill(client, sandbox, member, shop.store.pay_code, "50")
    await pay_bill(client, sandbox, member, shop.store.pay_code, "50")  # ¥90.00 on day 2
    clock.freeze(at(DAY + timedelta(days=2), 2))
    async with db.session_scope() as session:
        await settlement.settle_day(session, DAY)
        await settlement.settle_day(session, DAY + timedelta(days=1))
    statements = await _statements(db)
    first = statements[f"{shop.merchant.id}:{DAY}"]
    second = statements[f"{shop.merchant.id}:{DAY + timedelta(days=1)}"]
    assert first.fee_fen == 27  # 0.6% of ¥45.00
    assert second.sales_before_fen == 4500
    # ¥55.00 left below the threshold at 0.6% = 33; ¥35.00 above at 0.3% = 10.5 → 11 (half up)
    assert second.fee_fen == 33 + 11
    for statement in (first, second):
        await _check_against_ledger(db, statement)
    await assert_ledger_ok(db)


def test_fee_plan_rule_edges() -> None:
    merchant = Merchant(
        commission_bp=100, payment_fee_bp=60, fee_threshold_fen=100_000_000, fee_above_bp=20
    )
    assert settlement.fees_for(merchant, 0, 0).fee_fen == 0
    below = settlement.fees_for(merchant, 100_000_000, 0)
    assert (below.fee_fen, below.above_threshold_fen) == (600_000, 0)
    assert below.commission_fen == 1_000_000
    above = settlement.fees_for(merchant, 250, 100_000_000)
    assert (above.below_threshold_fen, above.fee_fen) == (0, 1)  # 0.5 fen rounds half up
    crossing = settlement.fees_for(merchant, 1_000, 99_999_500)
    assert (crossing.below_threshold_fen, crossing.above_threshold_fen) == (500, 500)
    assert crossing.fee_fen == fee_fen(500, 60) + fee_fen(500, 20) == 3 + 1


async def test_an_undo_after_settlement_is_clawed_back_on_the_next_statement(client, db, sandbox):
    clock.freeze(at(DAY, 23, 50))
    shop = await new_shop(db, discount_bp=1500)
    member = await login(client, await new_card_holder(db))
    bill = await pay_bill(client, sandbox, member, shop.store.pay_code, "300")
    operator = await login(client, await new_user(db, role="operator", name="运营"))

    clock.freeze(at(DAY + timedelta(days=1), 0, 10))  # the undo window is still open
    settled = await client.post(
        "/api/v1/operator/settlements", json={"day": DAY.isoformat()}, headers=operator | idem()
    )
    assert settled.status_code == 200, settled.text
    assert [s["bills_count"] for s in settled.json()] == [1]
    staff = await login(client, shop.staff[0])
    refused = await client.post(
        f"/api/v1/store-bills/by-id/{bill['id']}/undo", headers=staff | idem()
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "AlreadySettled"

    clock.freeze(at(DAY + timedelta(days=1), 15))
    refunded = await client.post(
        f"/api/v1/store-bills/by-id/{bill['id']}/undo", headers=operator | idem()
    )
    assert refunded.status_code == 200, refunded.text
    clock.freeze(at(DAY + timedelta(days=2), 3))
    async with db.session_scope() as session:
        await settlement.settle_day(session, DAY + timedelta(days=1))
        await settlement.settle_day(session, DAY + timedelta(days=2) - timedelta(days=1))
    statements = await _statements(db)
    first = statements[f"{shop.merchant.id}:{DAY}"]
    second = statements[f"{shop.merchant.id}:{DAY + timedelta(days=1)}"]
    assert (first.bills_count, first.charged_fen) == (1, 25500)
    assert (second.bills_count, second.clawback_count, second.clawback_fen) == (0, 1, 25500)
    assert second.net_payable_fen == -25500
    for statement in (first, second):
        await _check_against_ledger(db, statement)
    no_payout = await client.post(
        f"/api/v1/operator/statements/{second.id}/payout", headers=operator | idem()
    )
    assert no_payout.status_code == 409
    assert no_payout.json()["error"] == "NothingToPayOut"
    page = await client.get(
        f"/operator/statements?day={(DAY + timedelta(days=1)).isoformat()}", headers=operator
    )
    assert "待从后续打款中扣回" in page.text  # not "awaiting payout": the merchant owes this
    # a later day never claws the same bill back twice
    clock.freeze(at(DAY + timedelta(days=5), 3))
    async with db.session_scope() as session:
        assert await settlement.settle_day(session, DAY + timedelta(days=4)) == []
    assert await count(db, Statement) == 2

    # the next positive statement's payout recovers the clawback
    clock.freeze(at(DAY + timedelta(days=6), 12))
    await pay_bill(client, sandbox, member, shop.store.pay_code, "400")  # collects ¥340.00
    clock.freeze(at(DAY + timedelta(days=7), 3))
    async with db.session_scope() as session:
        (third,) = await settlement.settle_day(session, DAY + timedelta(days=6))
    assert third.net_payable_fen == 34000 - 204
    paid = await client.post(
        f"/api/v1/operator/statements/{third.id}/payout", headers=operator | idem()
    )
    assert paid.status_code == 200, paid.text
    async with db.session_scope() as session:
        assert (
            await settlement_repo.ledger_sum(
                session, Account.merchant_payable, str(shop.merchant.id), "payout", [str(third.id)]
            )
            == 33796 - 25500
        )
        assert (await session.get_one(Statement, second.id)).status == "paid_out"
        assert (await session.get_one(Statement, first.id)).status == "open"
        owed = -await balance(session, Account.merchant_payable, str(shop.merchant.id))
    assert owed == first.net_payable_fen  # only the first statement is still to be paid
    await assert_ledger_ok(db)


async def test_a_day_that_is_not_over_cannot_be_settled(client, db):
    clock.freeze(at(DAY, 22))
    operator = await login(client, await new_user(db, role="operator", name="运营"))
    response = await client.post(
        "/api/v1/operator/settlements", json={"day": DAY.isoformat()}, headers=operator | idem()
    )
    assert response.status_code == 409
    assert response.json()["error"] == "DayNotOver"


async def test_the_operator_sets_a_merchants_fee_plan(client, db):
    shop = await new_shop(db)
    operator = await login(client, await new_user(db, role="operator", name="运营"))
    plan = {
        "commission_bp": 0,
        "payment_fee_bp": 60,
        "fee_threshold_fen": 100_000_000,
        "fee_above_bp": 38,
    }
    response = await client.put(
        f"/api/v1/operator/merchants/{shop.merchant.id}/fee-plan",
        json=plan,
        headers=operator | idem(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["fee_above_bp"] == 38
    bad = await client.put(
        f"/api/v1/operator/merchants/{shop.merchant.id}/fee-plan",
        json=plan | {"fee_above_bp": 10_001},
        headers=operator | idem(),
    )
    assert bad.status_code == 422
    staff = await login(client, shop.owner)
    forbidden = await client.put(
        f"/api/v1/operator/merchants/{shop.merchant.id}/fee-plan", json=plan, headers=staff | idem()
    )
    assert forbidden.status_code == 403
    async with db.session_scope() as session:
        merchant = await session.get_one(Merchant, shop.merchant.id)
        assert merchant.fee_above_bp == 38


async def test_the_settle_command_is_idempotent(client, db, sandbox, database_url):
    day = date(2026, 11, 18)
    clock.freeze(at(day, 12))
    shop = await new_shop(db)
    member = await login(client, await new_card_holder(db))
    await pay_bill(client, sandbox, member, shop.store.pay_code, "20")
    env = os.environ | {"REDCARD_DATABASE_URL": database_url}

    def settle(text: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "redcard.cli", "settle", "--day", text],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    for _ in range(2):
        result = settle(day.isoformat())
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1800" in result.stdout  # ¥18.00 collected
    assert await count(db, Statement) == 1
    not_over = settle("2099-01-01")
    assert not_over.returncode == 1
    assert "not over" in not_over.stdout
    async with db.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(StatementLine)) == 1
