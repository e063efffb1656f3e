"""One error hierarchy. Services raise these; one handler renders them.

Rendered as `{"error": "<ClassName>", "detail": "<message>"}` with the class's status code.
"""

from __future__ import annotations


class AppError(Exception):
    status_code = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    @property
    def name(self) -> str:
        return type(self).__name__


class InvalidInput(AppError):
    status_code = 422


class Unauthorized(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class TooManyRequests(AppError):
    status_code = 429


class ChannelUnavailable(AppError):
    """The payment channel did not answer; the outcome is unknown until queried."""

    status_code = 503
