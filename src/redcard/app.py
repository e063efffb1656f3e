"""The ASGI app: routers, error handlers, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from redcard.accounts.endpoints import router as accounts_api
from redcard.companions.endpoints import router as companions_api
from redcard.config import Settings, get_settings
from redcard.curation.endpoints import router as curation_api
from redcard.datarights.endpoints import router as datarights_api
from redcard.db import Database
from redcard.deps import AppContext
from redcard.discovery import reads
from redcard.discovery.endpoints import router as discovery_api
from redcard.errors import AppError
from redcard.events.endpoints import router as events_api
from redcard.ledger.endpoints import router as ledger_api
from redcard.membership.endpoints import router as membership_api
from redcard.membership.renewal_endpoints import router as renewal_api
from redcard.merchants.endpoints import router as merchants_api
from redcard.ops.endpoints import router as ops_router
from redcard.ops.logs import configure_logging
from redcard.ops.middleware import RequestContext
from redcard.order_kinds import register_all
from redcard.payments.channels import Channels, build_channels
from redcard.payments.endpoints import router as payments_api
from redcard.payments.sandbox_pages import router as sandbox_pages
from redcard.redemption.endpoints import router as redemption_api
from redcard.settlement.endpoints import router as settlement_api
from redcard.storepay.endpoints import router as storepay_api
from redcard.sunset.endpoints import router as sunset_api
from redcard.web.common import LoginRequired, login_redirect, login_target
from redcard.web.common import router as common_pages
from redcard.web.errors import error_page
from redcard.web.member.companion import router as companion_pages
from redcard.web.member.datarights import router as datarights_pages
from redcard.web.member.discover import router as discover_pages
from redcard.web.member.events import router as event_pages
from redcard.web.member.inbox import router as inbox_pages
from redcard.web.member.me import router as me_pages
from redcard.web.member.method import router as method_pages
from redcard.web.member.pages import router as member_pages
from redcard.web.member.refunds import router as refund_pages
from redcard.web.member.renewal import router as renewal_pages
from redcard.web.member.savings import router as savings_pages
from redcard.web.member.storepay import router as storepay_pages
from redcard.web.merchant.bills import router as bills_pages
from redcard.web.merchant.pages import router as merchant_pages
from redcard.web.merchant.statements import router as merchant_statements_pages
from redcard.web.merchant.value import router as merchant_value_pages
from redcard.web.operator.curation import router as curation_pages
from redcard.web.operator.events import router as event_manage_pages
from redcard.web.operator.outbox import router as outbox_pages
from redcard.web.operator.pages import router as operator_pages
from redcard.web.operator.renewals import router as renewals_pages
from redcard.web.operator.simulate import router as simulate_pages
from redcard.web.operator.statements import router as statements_pages
from redcard.web.operator.sunset import router as sunset_pages

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"


def _wants_json(request: Request) -> bool:
    """API callers get JSON errors: every /api/ address, and a script that asks for JSON and
    not for a page. Everyone else is a browser and gets a page (`web/errors.py`)."""
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def _error(request: Request, status_code: int, name: str, detail: object) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": name, "detail": detail}, status_code=status_code)
    if status_code == 401:
        return login_redirect(LoginRequired(login_target(request)))
    # a 5xx page says it in general words; a 4xx says why, when it is a sentence
    shown = detail if isinstance(detail, str) and status_code < 500 else None
    return await error_page(request, status_code, shown)


class UnhandledErrors:
    """Inside `RequestContext`, so the log line carries the request id: an exception no
    handler took is logged with its traceback and answered with a 500 (a page for a browser,
    JSON for the API) that shows the request id and no traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:  # too late for an error response: the server closes the connection
                raise
            request = Request(scope, receive)
            response = await _error(
                request, 500, "InternalError", "something went wrong on our side"
            )
            await response(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    channels: Channels | None = None,
) -> FastAPI:
    register_all()
    settings = settings or get_settings()
    settings.apply_zone()
    owns_db = db is None
    db = db or Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        replica_url=settings.replica_url,
        replica_max_lag_seconds=settings.replica_max_lag_seconds,
    )
    channels = channels or build_channels(settings)
    ctx = AppContext(settings=settings, db=db, channels=channels)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await channels.start()
        background = None
        if settings.run_worker:  # the demo: one process serves and does the background work
            from redcard.worker import Worker

            background = asyncio.create_task(Worker(settings, db, channels).run_forever())
        yield
        if background is not None:
            background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await background
        if owns_db:
            await channels.close()
            await reads.dispose(db)
            await db.dispose()

    app = FastAPI(
        title="Redcard",
        version="0.1.0",
        summary="A paid membership card for local-life commerce.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
    )
    app.state.ctx = ctx
    app.add_middleware(UnhandledErrors)
    app.add_middleware(RequestContext)  # outermost: added last
    app.include_router(ops_router)

    # the till's calls first: routes are matched in order, and these are the hot path
    api_routers = (
        redemption_api,
        accounts_api,
        membership_api,
        renewal_api,
        payments_api,
        ledger_api,
        merchants_api,
        settlement_api,
        storepay_api,
        sunset_api,
        events_api,
        discovery_api,
        curation_api,
        datarights_api,
        companions_api,
    )
    for router in api_routers:
        app.include_router(router, prefix=API_PREFIX)
    pages = [
        common_pages,
        discover_pages,
        member_pages,
        storepay_pages,
        bills_pages,
        statements_pages,
    ]
    pages += [merchant_pages, merchant_statements_pages, merchant_value_pages]
    for router in (*pages, event_pages, event_manage_pages, operator_pages, sandbox_pages):
        app.include_router(router)
    app.include_router(sunset_pages)
    app.include_router(refund_pages)
    app.include_router(renewal_pages)
    app.include_router(renewals_pages)
    app.include_router(method_pages)  # /how-we-pick and /me/reviews
    app.include_router(datarights_pages)  # /me/export, /me/close: before /me's own routes
    app.include_router(me_pages)
    app.include_router(inbox_pages)  # 我的 → 消息; /operator/outbox (delivery)
    app.include_router(outbox_pages)
    app.include_router(curation_pages)
    app.include_router(companion_pages)  # /card/companion
    app.include_router(savings_pages)  # /card/savings: the 省钱账本
    app.include_router(simulate_pages)  # /operator/simulate
    app.mount(
        "/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static"
    )

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return await _error(request, exc.status_code, exc.name, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Unknown addresses (404) and methods (405): FastAPI's JSON for the API."""
        if _wants_json(request):
            return await http_exception_handler(request, exc)
        return await error_page(request, exc.status_code, headers=exc.headers)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if not _wants_json(request) and all(d["loc"][:1] == ["path"] for d in detail):
            return await error_page(request, 404)  # /events/abc: no such page, for a person
        return await _error(request, 422, "InvalidInput", detail)

    @app.exception_handler(IntegrityError)
    async def integrity(request: Request, exc: IntegrityError) -> Response:
        log.info("integrity conflict: %s", exc.orig)
        return await _error(request, 409, "Conflict", "this conflicts with existing data")

    return app


def tune_gc_for_serving() -> None:
    """For a server process, once its app is built. What it built at start-up (modules,
    routes, compiled statements) stays until it exits: freeze it, so the collector's full
    sweeps stop walking it, and collect the young generation every 10,000 allocations
    instead of 700: full sweeps over those objects were the till's p99 (measured in
    docs/performance.md). Not in tests, which build many apps in one process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def serve_app() -> FastAPI:
    """The app as a server process runs it: `uvicorn --factory redcard.app:serve_app`."""
    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    app = create_app(settings)
    tune_gc_for_serving()
    return app
