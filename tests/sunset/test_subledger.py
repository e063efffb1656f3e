"""A campaign's refunds are posted as one entry per batch; the refunds table is the subledger
that `ledger check` holds against those entries."""

from __future__ import annotations

from sqlalchemy import select, update

from redcard.ledger.service import check
from redcard.models import JournalEntry, Refund, RefundStatus
from tests.fixtures.factories import drain, run_sunset


async def test_a_batch_is_one_entry_and_the_refunds_are_its_subledger(
    client, db, sandbox, settings, channels, world_factory
):
    w = await world_factory(3)
    await run_sunset(client, w)
    await drain(settings, db, channels, sandbox)
    async with db.session_scope() as session:
        refunds = (await session.scalars(select(Refund))).all()
        assert [r.status for r in refunds] == [RefundStatus.succeeded] * 3
        # the three were reserved together and settled together: one entry each time
        assert len({r.reserve_entry_ref for r in refunds}) == 1
        assert len({r.settle_entry_ref for r in refunds}) == 1
        kinds = (await session.scalars(select(JournalEntry.kind).order_by(JournalEntry.kind))).all()
        assert kinds.count("refund_requested") == 1
        assert kinds.count("refund") == 1
        assert (await check(session)).ok

    async with db.session_scope() as session:  # a refund that names no entry is caught
        stray = refunds[0]
        await session.execute(
            update(Refund).where(Refund.id == stray.id).values(settle_entry_ref="RS-NOWHERE")
        )
    async with db.session_scope() as session:
        report = await check(session)
    assert not report.ok
    assert sorted(report.subledger_differences) == [
        "refunds: refund/RS-NOWHERE",
        f"refunds: refund/{refunds[1].settle_entry_ref}",
    ]
