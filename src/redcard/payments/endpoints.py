from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from redcard.deps import Ctx, Public, Session
from redcard.payments import callbacks

router = APIRouter(prefix="/payments", tags=["payments"])


@router.post("/notify/{channel}", response_class=PlainTextResponse, dependencies=[Public])
async def channel_notification(channel: str, request: Request, session: Session, ctx: Ctx) -> str:
    """Asynchronous notifications from a payment channel. Verified on the raw body; a non-2xx
    answer makes the channel retry later."""
    raw = await request.body()
    return await callbacks.handle_notification(session, ctx.channels, channel, request.headers, raw)
