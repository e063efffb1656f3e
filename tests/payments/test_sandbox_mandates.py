"""The sandbox's payment mandates, as Alipay 周期扣款 / WeChat Pay 委托代扣 behave: nothing is
charged before the member signs; a charge number is charged at most once (asked again, or
twice at the same moment, the channel answers with the one charge); a revoked mandate refuses
new charges; the charge is in the channel's bill."""

from __future__ import annotations

import asyncio

import pytest

from redcard.kit.ids import reference
from redcard.kit.time import today
from redcard.payments.port import (
    ChannelRejected,
    ChannelTimeout,
    ChargeRequest,
    MandateRequest,
    MandateRevoked,
    MandateStatus,
    TradeStatus,
)
from redcard.payments.sandbox import Fault


def _mandate(no: str) -> MandateRequest:
    return MandateRequest(no, "年卡", 16800, 365, "http://test/notify", "http://test/back")


async def test_a_mandate_charges_each_number_once(db, sandbox):
    no = reference("M")
    created = await sandbox.sign_mandate(_mandate(no))
    assert created.sign_url.startswith(f"/sandbox/mandate/{no}")
    charge = ChargeRequest(no, reference("R"), 16800, "年卡")
    with pytest.raises(MandateRevoked):  # not signed yet
        await sandbox.charge_mandate(charge)
    await sandbox.sign_at_cashier(no)
    assert (await sandbox.query_mandate(no)).status == MandateStatus.active

    first = await sandbox.charge_mandate(charge)
    again = await sandbox.charge_mandate(charge)
    assert first.status == again.status == TradeStatus.succeeded
    assert first.channel_ref == again.channel_ref

    racing = ChargeRequest(no, reference("R"), 16800, "年卡")
    results = await asyncio.gather(
        *(sandbox.charge_mandate(racing) for _ in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, ChannelTimeout) or r.status == "succeeded" for r in results)
    books = await sandbox.charges_of(no)
    assert sorted(n for _, n, _, _ in books) == sorted([charge.out_trade_no, racing.out_trade_no])
    bill = {line.reference for line in await sandbox.bill(today())}
    assert {charge.out_trade_no, racing.out_trade_no} <= bill

    with pytest.raises(ChannelRejected):  # the same number with another amount
        await sandbox.charge_mandate(ChargeRequest(no, charge.out_trade_no, 100, "年卡"))


async def test_a_revoked_mandate_refuses_new_charges_but_answers_for_old_ones(db, sandbox):
    no = reference("M")
    await sandbox.sign_mandate(_mandate(no))
    await sandbox.sign_at_cashier(no)
    done = ChargeRequest(no, reference("R"), 16800, "年卡")
    await sandbox.charge_mandate(done)
    await sandbox.revoke_mandate(no)
    await sandbox.revoke_mandate(no)  # idempotent
    assert (await sandbox.query_mandate(no)).status == MandateStatus.revoked
    with pytest.raises(MandateRevoked):
        await sandbox.charge_mandate(ChargeRequest(no, reference("R"), 16800, "年卡"))
    assert (await sandbox.charge_mandate(done)).status == TradeStatus.succeeded


async def test_a_failed_charge_is_in_the_books_as_failed(db, sandbox):
    no = reference("M")
    await sandbox.sign_mandate(_mandate(no))
    await sandbox.sign_at_cashier(no)
    sandbox.inject("charge", Fault.reject)
    charge = ChargeRequest(no, reference("R"), 16800, "年卡")
    with pytest.raises(ChannelRejected):
        await sandbox.charge_mandate(charge)
    assert (await sandbox.query_payment(charge.out_trade_no)).status == TradeStatus.failed
    with pytest.raises(ChannelRejected):  # above the signed period limit
        await sandbox.charge_mandate(ChargeRequest(no, reference("R"), 16801, "年卡"))
