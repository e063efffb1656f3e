"""The sandbox's payment mandates, the way Alipay's 周期扣款 (alipay.user.agreement.page.sign,
then alipay.trade.pay with the agreement) and WeChat Pay's 委托代扣 (papay: a contract signed
on WeChat's page, then pappayapply) work: the merchant names the agreement (our `mandate_no`,
Alipay's external_agreement_no / WeChat's contract_code) and a period rule (the most one charge
may take); the member signs on the channel's page; afterwards the merchant charges it with
its own trade number and no member step; either side may end it (unsign / deletecontract).

Charges are trades in the sandbox's books (`sandbox_trades`, so they are in its daily bill),
linked to their mandate in `sandbox_mandate_charges`. A trade number is charged at most once:
the primary key of both tables guarantees it, and asking again answers with that charge.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import BigInteger, Integer, String, Table, select, update
from sqlalchemy import Column as C
from sqlalchemy.exc import IntegrityError

from redcard.kit.ids import new_id
from redcard.models.base import UTCDateTime
from redcard.payments.port import (
    ChannelRejected,
    ChannelTimeout,
    ChargeRequest,
    MandateCreated,
    MandateQuery,
    MandateRequest,
    MandateRevoked,
    MandateStatus,
    TradeQuery,
    TradeStatus,
)
from redcard.payments.sandbox_books import Fault, meta, trades

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

mandates = Table(
    "sandbox_mandates",
    meta,
    C("mandate_no", String(64), primary_key=True),  # external_agreement_no / contract_code
    C("agreement_no", String(64), nullable=False),  # the channel's own (agreement_no / contract_id)
    C("subject", String(200), nullable=False),
    C("max_amount_fen", BigInteger, nullable=False),
    C("period_days", Integer, nullable=False),
    C("status", String(16), nullable=False),
    C("created_at", UTCDateTime(), nullable=False),
    C("signed_at", UTCDateTime()),
    C("revoked_at", UTCDateTime()),
)
mandate_charges = Table(
    "sandbox_mandate_charges",
    meta,
    C("out_trade_no", String(64), primary_key=True),
    C("mandate_no", String(64), nullable=False, index=True),
)


class SandboxMandates:
    """Mixed into SandboxChannel: the `port.Mandates` ability. Faults (`inject`): operation
    "charge" takes `reject` (insufficient balance: a failed trade), `timeout` (no effect) and
    `timeout_after_accept` (charged, no answer)."""

    auto_sign_mandates: bool = False  # True: a mandate is active as soon as it is asked for

    if TYPE_CHECKING:  # provided by SandboxChannel

        @property
        def engine(self) -> AsyncEngine: ...

        async def ensure_ready(self) -> None: ...
        def now(self) -> datetime: ...
        def _take(self, operation: str, *kinds: Any) -> Any: ...

    async def sign_mandate(self, request: MandateRequest) -> MandateCreated:
        await self.ensure_ready()
        async with self.engine.begin() as conn:
            known = await conn.scalar(
                select(mandates.c.status).where(mandates.c.mandate_no == request.mandate_no)
            )
            if known is None:
                now = self.now()
                active = self.auto_sign_mandates
                await conn.execute(
                    mandates.insert().values(
                        mandate_no=request.mandate_no,
                        agreement_no=f"SBA{new_id().hex[:20].upper()}",
                        subject=request.subject[:200],
                        max_amount_fen=request.max_amount_fen,
                        period_days=request.period_days,
                        status=(MandateStatus.active if active else MandateStatus.pending).value,
                        created_at=now,
                        signed_at=now if active else None,
                    )
                )
        return MandateCreated(
            sign_url=f"/sandbox/mandate/{request.mandate_no}?return={quote(request.return_url)}"
        )

    async def sign_at_cashier(self, mandate_no: str) -> None:
        """The member agrees on the sandbox's signing page."""
        await self.ensure_ready()
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(mandates)
                .where(
                    mandates.c.mandate_no == mandate_no,
                    mandates.c.status == MandateStatus.pending.value,
                )
                .values(status=MandateStatus.active.value, signed_at=self.now())
            )
            if result.rowcount == 0:
                status = await conn.scalar(
                    select(mandates.c.status).where(mandates.c.mandate_no == mandate_no)
                )
                if status != MandateStatus.active.value:
                    raise ChannelRejected(f"sandbox: mandate {mandate_no} cannot be signed")

    async def query_mandate(self, mandate_no: str) -> MandateQuery:
        await self.ensure_ready()
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(mandates).where(mandates.c.mandate_no == mandate_no))
            ).one_or_none()
        if row is None:
            return MandateQuery(MandateStatus.unknown)
        return MandateQuery(
            MandateStatus(row.status), row.agreement_no, row.signed_at, row.revoked_at
        )

    async def mandate_terms(self, mandate_no: str) -> tuple[int, int]:
        """(max_amount_fen, period_days) the signing page shows; (0, 0) if unknown."""
        await self.ensure_ready()
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(mandates.c.max_amount_fen, mandates.c.period_days).where(
                        mandates.c.mandate_no == mandate_no
                    )
                )
            ).one_or_none()
        return (0, 0) if row is None else (row.max_amount_fen, row.period_days)

    async def revoke_mandate(self, mandate_no: str) -> None:
        await self.ensure_ready()
        if self._take("revoke_mandate", _timeout()):
            raise ChannelTimeout("sandbox: revoke timed out")
        async with self.engine.begin() as conn:
            await conn.execute(
                update(mandates)
                .where(
                    mandates.c.mandate_no == mandate_no,
                    mandates.c.status != MandateStatus.revoked.value,
                )
                .values(status=MandateStatus.revoked.value, revoked_at=self.now())
            )

    async def charge_mandate(self, request: ChargeRequest) -> TradeQuery:
        await self.ensure_ready()
        fault = self._take("charge", Fault.timeout, Fault.timeout_after_accept, Fault.reject)
        if fault == Fault.timeout:
            raise ChannelTimeout("sandbox: charge timed out")
        async with self.engine.begin() as conn:
            done = (
                await conn.execute(
                    select(
                        trades.c.status, trades.c.amount_fen, trades.c.trade_no, trades.c.paid_at
                    )
                    .join(mandate_charges, mandate_charges.c.out_trade_no == trades.c.out_trade_no)
                    .where(trades.c.out_trade_no == request.out_trade_no)
                )
            ).one_or_none()
            if done is not None:  # asked again: the charge as it stands, never a second one
                if done.amount_fen != request.amount_fen:
                    raise ChannelRejected("sandbox: out_trade_no reused with another amount")
                return TradeQuery(
                    TradeStatus(done.status), done.amount_fen, done.trade_no, done.paid_at
                )
            mandate = (
                await conn.execute(
                    select(mandates).where(mandates.c.mandate_no == request.mandate_no)
                )
            ).one_or_none()
            if mandate is None or mandate.status != MandateStatus.active.value:
                raise MandateRevoked("sandbox: the mandate is not in force")
            if request.amount_fen > mandate.max_amount_fen:
                raise ChannelRejected("sandbox: above the mandate's period limit")
            now = self.now()
            failed = fault == Fault.reject
            trade_no = f"SBX{new_id().hex[:20].upper()}"
            status = TradeStatus.failed if failed else TradeStatus.succeeded
            try:
                await conn.execute(
                    trades.insert().values(
                        out_trade_no=request.out_trade_no,
                        trade_no=trade_no,
                        amount_fen=request.amount_fen,
                        subject=request.subject[:200],
                        notify_url="",
                        status=status.value,
                        created_at=now,
                        paid_at=None if failed else now,
                    )
                )
                await conn.execute(
                    mandate_charges.insert().values(
                        out_trade_no=request.out_trade_no, mandate_no=request.mandate_no
                    )
                )
            except IntegrityError as exc:  # a concurrent call with the same number won
                raise ChannelTimeout("sandbox: the same charge is in progress") from exc
        if failed:
            raise ChannelRejected("sandbox: insufficient balance")
        if fault == Fault.timeout_after_accept:
            raise ChannelTimeout("sandbox: charge timed out after taking effect")
        return TradeQuery(status, request.amount_fen, trade_no, now)

    async def charges_of(self, mandate_no: str | None = None) -> list[tuple[str, str, str, int]]:
        """The sandbox's own books: (mandate_no, out_trade_no, status, amount_fen) of every
        mandate charge (tests and the bench hold our records against these)."""
        await self.ensure_ready()
        stmt = select(
            mandate_charges.c.mandate_no,
            trades.c.out_trade_no,
            trades.c.status,
            trades.c.amount_fen,
        ).join(trades, trades.c.out_trade_no == mandate_charges.c.out_trade_no)
        if mandate_no is not None:
            stmt = stmt.where(mandate_charges.c.mandate_no == mandate_no)
        async with self.engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(stmt)]


def _timeout() -> object:
    return Fault.timeout
