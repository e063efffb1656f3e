"""Rendering pages: language, CSRF double-submit token, formatting helpers."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from redcard.errors import Forbidden
from redcard.kit import time as clock
from redcard.kit.ids import new_token
from redcard.kit.money import amount_off_words, discount_words, format_fen
from redcard.web import i18n

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CSRF_COOKIE = "redcard_csrf"
LANG_COOKIE = "redcard_lang"


def locale_of(request: Request) -> str:
    return i18n.pick(
        request.cookies.get(LANG_COOKIE), request.app.state.ctx.settings.default_locale
    )


def gettext_for(request: Request) -> Any:
    return i18n.gettext_for(locale_of(request))


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC and shown in the programme's zone (`kit.time.local_time`);
    pages name the zone once, beside the date fields and tables (`page_zone`)."""
    return clock.local_time(value, fmt, label=False)


def when_short(value: datetime | None) -> str:
    """A time in a list, as short as it can be without being ambiguous, in the programme's
    zone: "14:05" today, "11-28 14:05" another day this year, "2025-11-28 14:05" another
    year (today and this year by `kit.time`'s clock)."""
    if value is None:
        return ""
    day, today = clock.business_day(value), clock.today()
    if day == today:
        fmt = "%H:%M"
    elif day.year == today.year:
        fmt = "%m-%d %H:%M"
    else:
        fmt = "%Y-%m-%d %H:%M"
    return local_time(value, fmt)


def page_zone() -> str:
    """The programme's zone as a page names it beside its days and times: its offset
    ("UTC+8", `kit.time.zone_label`) where the offset never changes, else its IANA name
    ("Europe/London"), since one offset would mislabel the other season's times."""
    year = clock.utc_now().year
    winter, summer = (datetime(year, month, 1, tzinfo=UTC) for month in (1, 7))
    if clock.zone_label(winter) == clock.zone_label(summer):
        return clock.zone_label()
    return clock.zone().key


def csrf_token(request: Request) -> str:
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = getattr(request.state, "new_csrf", None) or new_token(16)
        request.state.new_csrf = token
    return token


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    locale = locale_of(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "_": i18n.gettext_for(locale),
            "local_name": lambda thing: i18n.local_name(thing, locale),
            "locale": locale,
            "languages": i18n.LANGUAGES,
            "user": getattr(request.state, "user", None),
            "csrf": csrf_token(request),
            "money": format_fen,
            "when": local_time,
            "when_short": when_short,  # times in lists: the date only when not today
            "discount_words": lambda bp: discount_words(bp, locale),  # "9折" / "10% off"
            "amount_off": lambda fen: amount_off_words(fen, locale),  # "立减 ¥5.00" / "¥5.00 off"
            "zone": page_zone(),  # named once on every page that shows days or times
            "zone_key": clock.zone().key,  # for scripts that format times (Intl timeZone)
            **context,
        },
        status_code=status_code,
    )
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="lax")
    return response


async def check_csrf(request: Request) -> dict[str, Any]:
    """Read a posted form and check its CSRF token against the cookie."""
    form = await request.form()
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = str(form.get("csrf", ""))
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise Forbidden("the form expired; reload the page and try again")
    return dict(form)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next_url(url: str | None, base_url: str | None = None) -> str:
    """Only redirect to our own pages (a path, or our own absolute base URL)."""
    if not url:
        return "/"
    if base_url and url.startswith(base_url + "/"):
        return url
    if url.startswith("/") and not url.startswith("//"):
        return url
    if "://" in url:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    return "/"
