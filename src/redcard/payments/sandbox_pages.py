"""The sandbox cashier: the page a payer sees at the "channel". Mounted only for the sandbox."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from redcard.deps import Ctx
from redcard.payments.port import TradeStatus
from redcard.payments.sandbox import SandboxChannel
from redcard.web.render import redirect, render, safe_next_url

router = APIRouter(prefix="/sandbox", include_in_schema=False)


def _sandbox(ctx: Ctx) -> SandboxChannel:
    channel = ctx.channels.get("sandbox")
    assert isinstance(channel, SandboxChannel)
    return channel


@router.get("/pay/{out_trade_no}", response_class=HTMLResponse)
async def cashier(out_trade_no: str, request: Request, ctx: Ctx) -> Response:
    trade = await _sandbox(ctx).query_payment(out_trade_no)
    return render(
        request,
        "sandbox_cashier.html",
        trade=trade,
        out_trade_no=out_trade_no,
        back=safe_next_url(request.query_params.get("return", "/")),
    )


@router.post("/pay/{out_trade_no}")
async def pay(out_trade_no: str, ctx: Ctx, back: str = Form("/")) -> Response:
    channel = _sandbox(ctx)
    if (await channel.query_payment(out_trade_no)).status == TradeStatus.pending:
        await channel.pay(out_trade_no)
    return redirect(safe_next_url(back))


@router.get("/mandate/{mandate_no}", response_class=HTMLResponse)
async def mandate_page(mandate_no: str, request: Request, ctx: Ctx) -> Response:
    """The channel's signing page for a payment mandate (周期扣款 / 委托代扣)."""
    channel = _sandbox(ctx)
    mandate = await channel.query_mandate(mandate_no)
    limits = await channel.mandate_terms(mandate_no)
    return render(
        request,
        "sandbox_mandate.html",
        mandate=mandate,
        mandate_no=mandate_no,
        max_amount_fen=limits[0],
        period_days=limits[1],
        back=safe_next_url(request.query_params.get("return", "/")),
    )


@router.post("/mandate/{mandate_no}")
async def sign_mandate(mandate_no: str, ctx: Ctx, back: str = Form("/")) -> Response:
    await _sandbox(ctx).sign_at_cashier(mandate_no)
    return redirect(safe_next_url(back))
