"""Error pages for browsers. A person who meets an error sees a page in their language that
names what happened in words ("找不到页面"), says why when we can say it in their language, and
offers a way back and home; never a JSON body, an error class's name or a traceback. API
callers keep the JSON errors (`redcard.app`)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import inspect as sa_inspect

from redcard.accounts.service import user_for_token
from redcard.deps import bearer_or_cookie, get_ctx
from redcard.models import User
from redcard.ops.logs import current_request_id
from redcard.web.common import HOME_FOR, safe_next
from redcard.web.render import gettext_for, locale_of, render

# the status in words, and what to say when the error's own message has no translation
STATUS_TEXT: dict[int, tuple[str, str]] = {
    400: ("Bad request", "This request could not be handled."),
    403: ("Not allowed", "Your account may not open this page."),
    404: ("Page not found", "There is nothing at this address: it may have moved or gone."),
    405: ("Not available this way", "This address cannot be opened like this."),
    409: ("This could not be done", "Something changed meanwhile: reload the page and try again."),
    422: ("Please check what you entered", "Some of what was sent is not valid."),
    429: ("Too many attempts", "Wait a moment and try again."),
    500: ("Something went wrong on our side", "The error is logged. Try again in a moment."),
    503: ("Service unavailable", "A service we depend on is not answering. Try again soon."),
}
OTHER = ("Something went wrong", "Try again in a moment.")


async def error_page(
    request: Request,
    status_code: int,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The page for an error with this status. `detail` is the error's English message: shown
    when the page's language has it (an English page always does), else the status's words."""
    heading, fallback = STATUS_TEXT.get(status_code, OTHER)
    _ = gettext_for(request)
    english = locale_of(request) == "en"
    message = _(detail) if detail else ""
    if not message or (message == detail and not english):
        message = _(fallback)
    elif english:
        message = message[:1].upper() + message[1:]
    user = await _viewer(request)
    request.state.user = user
    response = render(
        request,
        "error.html",
        status_code=status_code,
        status=status_code,
        heading=heading,
        message=message,
        back=_back(request),
        home=HOME_FOR.get(user.role, "/") if user else "/",
        login_again=status_code == 403 and user is not None,
        # a 5xx names the request, so support can find its log lines
        request_id=current_request_id() if status_code >= 500 else None,
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


async def _viewer(request: Request) -> User | None:
    """Who is looking, for the page's header. An unknown address never ran the route's
    dependencies, and a failed request's rollback expired its user row: look again in a
    session of our own. An error page must render even when the database is the error."""
    user = getattr(request.state, "user", None)
    if user is not None and not sa_inspect(user).expired_attributes:
        return user
    token = bearer_or_cookie(request)
    if not token:
        return None
    try:
        async with get_ctx(request).db.sessionmaker() as session:
            return await user_for_token(session, token)
    except Exception:  # the page without a logged-in header is better than no page
        return None


def _back(request: Request) -> str | None:
    """The page the person came from, when it is one of ours and not this one."""
    referer = request.headers.get("referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.url.netloc:
        return None
    back = safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
    return back if back and back != request.url.path else None
