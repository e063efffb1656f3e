"""Structured logs: one JSON object per line, for the app, the worker and the CLI.

`configure_logging()` routes both structlog and the standard library's `logging` (uvicorn,
SQLAlchemy, our modules) through one processor chain, so every line has the same shape:
`{"timestamp", "level", "logger", "event", "request_id", ...}`.

Personal data never reaches a log line (PIPL's data minimisation): phone numbers, names,
tokens, passwords and keys are masked by `mask_personal_data`, both as fields and inside
free text. A request id is taken from `X-Request-ID` (or generated), bound for the request's
lines, stored on the jobs it enqueues and bound again when a worker runs them.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

_request_id: ContextVar[str | None] = ContextVar("redcard_request_id", default=None)

# Mainland mobile numbers: 11 digits starting 1[3-9], not part of a longer number.
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
# Bearer tokens, and key=value / "key": "value" pairs whose key names a secret.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_SECRET_PAIR = re.compile(
    r"(?i)\b((?:[a-z_]*_)?(?:token|password|secret|api_?key|private_?key|sign(?:ature)?|"
    r"authorization|cookie|key))(\"?\s*[:=]\s*\"?)([^\s\",}&]+)"
)
SENSITIVE_FIELDS = frozenset(
    {
        "phone",
        "name",
        "display_name",
        "password",
        "token",
        "session_token",
        "authorization",
        "cookie",
        "secret",
        "secret_key",
        "sandbox_secret",
        "api_key",
        "private_key",
        "key",
        "idempotency_key",
        "signature",
        "payment_token",
    }
)
MASK = "***"


def mask_text(text: str) -> str:
    """Mask phone numbers (keep the first 3 and last 4 digits), bearer tokens and secrets."""
    text = _PHONE.sub(r"\1****\3", text)
    text = _BEARER.sub(r"\1" + MASK, text)
    return _SECRET_PAIR.sub(r"\1\2" + MASK, text)


def _mask_value(key: str, value: Any) -> Any:
    if key.lower() in SENSITIVE_FIELDS and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(key, v) for v in value]
    return value


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the last step before rendering."""
    for key, value in list(event_dict.items()):
        event_dict[key] = _mask_value(key, value)
    return event_dict


def _drop_console_extras(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
    return event_dict


def _add_request_id(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    rid = _request_id.get()
    if rid is not None:
        event_dict.setdefault("request_id", rid)
    return event_dict


def current_request_id() -> str | None:
    """The id of the request (or job) being handled, stored on the rows it enqueues."""
    return _request_id.get()


def bind_request_id(value: str | None) -> Any:
    """Bind a request id for the current task; returns the token for `reset_request_id`."""
    return _request_id.set(value)


def reset_request_id(token: Any) -> None:
    _request_id.reset(token)


_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_from(header: str | None) -> str:
    """A caller's X-Request-ID when it is a plain short token, else a new one."""
    if header and _VALID_ID.match(header):
        return header
    return uuid.uuid4().hex


_configured: dict[str, Any] = {}


def configure_logging(*, level: str = "INFO", json: bool = True, stream: Any = None) -> None:
    """Install the processor chain on the root logger (idempotent; the last call wins)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _drop_console_extras,
            mask_personal_data,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    old = _configured.get("handler")
    if old is not None:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn installs its own handlers; let its lines flow through ours instead
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # SQLAlchemy logs every statement with its parameters at INFO: never at the root's level
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    _configured["handler"] = handler


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
