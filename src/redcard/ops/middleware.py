"""The outermost ASGI middleware: a request id for every request (bound for its log lines,
echoed in `X-Request-ID`) and its count and latency in the metrics. Pure ASGI (no
BaseHTTPMiddleware), so it adds no task per request on the till's hot path. The access log
is uvicorn's, rendered by `ops/logs.py` with the request id."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from redcard.ops import logs, metrics

HEADER = b"x-request-id"


def _route_label(scope: Scope) -> str:
    """The route's template (`/api/v1/orders/{order_id}`), never the raw path: raw paths
    would give every id its own time series."""
    # FastAPI keeps included routers nested: the full template (with the router's prefix)
    # is on the effective route context it records in the scope
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path_format", None)
    if path is None:
        route = scope.get("route")
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "unmatched"


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(HEADER)
        request_id = logs.request_id_from(incoming.decode("latin-1") if incoming else None)
        token = logs.bind_request_id(request_id)
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers: list[Any] = list(message.get("headers", []))
                headers.append((HEADER, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = _route_label(scope)
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, route).observe(seconds)
            logs.reset_request_id(token)
