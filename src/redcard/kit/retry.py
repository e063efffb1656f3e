"""Retrying background work: how long to wait, and which failures are worth retrying.

A job row (a refund, a notification) that fails is moved aside rather than stopping its batch:
its attempts are counted and it waits `backoff(attempts)`. A failure that retrying cannot mend
(our own error: bad data, a bug, an amount the channel disputes) goes to the exceptions queue at
once, with its reason; a passing one (a network error, a timeout) after `MAX_ATTEMPTS`.
"""

from __future__ import annotations

from datetime import timedelta

MAX_ATTEMPTS = 8
_TRANSIENT: tuple[type[BaseException], ...] = (OSError, TimeoutError, ConnectionError)


def backoff(attempts: int) -> timedelta:
    """15 s, 30 s, 1 min, … doubling, at most an hour."""
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


def is_transient(exc: BaseException) -> bool:
    """A failure of the network or of a peer, which a later attempt may not meet."""
    return isinstance(exc, _TRANSIENT) or bool(getattr(exc, "transient", False))


def error_text(exc: BaseException, limit: int = 500) -> str:
    """The reason an operator reads in the exceptions queue."""
    message = str(getattr(exc, "message", "") or exc)
    return f"{type(exc).__name__}: {message}"[:limit]
