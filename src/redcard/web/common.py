"""What member, merchant and operator pages share: who is logged in, language, login/out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from redcard.accounts import service as accounts
from redcard.deps import SESSION_COOKIE, Ctx, CurrentUser, Session
from redcard.errors import AppError, Forbidden
from redcard.models import Role, SessionKind, User
from redcard.web import i18n
from redcard.web.render import LANG_COOKIE, check_csrf, redirect, render

router = APIRouter(include_in_schema=False)

HOME_FOR = {Role.member: "/card", Role.operator: "/operator", Role.merchant_staff: "/merchant"}


class LoginRequired(Exception):
    def __init__(self, next_url: str | None) -> None:
        self.next_url = next_url


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """Page dependency: the logged-in user with one of `roles`; nobody logged in goes to the
    login page (and comes back), someone else logged in sees why not (403)."""

    async def dependency(request: Request, user: CurrentUser) -> User:
        if user is None:
            raise LoginRequired(login_target(request))
        if user.role not in roles:
            raise Forbidden(WRONG_ACCOUNT)
        return user

    return Depends(dependency)


WRONG_ACCOUNT = "this page is for another kind of account"


def login_target(request: Request) -> str | None:
    """Where to come back to after logging in: this page; for a form sent after the login
    ran out, the page that held the form (the form's own address only takes posts)."""
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.path and (not referer.netloc or referer.netloc == request.url.netloc):
        back = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
        if back:
            return back
    return None  # the home page of whoever logs in


def error_text(exc: Exception) -> str:
    """What a form shows for a refused submission: each invalid field with its message (a
    rule across fields has no field), or the error's own message."""
    if isinstance(exc, ValidationError):
        return "; ".join(_field_error(e["loc"], str(e["msg"])) for e in exc.errors())
    return str(getattr(exc, "message", exc))


def _field_error(loc: tuple[int | str, ...], msg: str) -> str:
    where = ".".join(map(str, loc))
    msg = msg.removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
    return f"{where}: {msg}" if where else msg


def safe_next(url: str | None) -> str | None:
    return url if url and url.startswith("/") and not url.startswith("//") else None


@router.get("/lang/{code}")
async def set_language(code: str, request: Request, user: CurrentUser) -> Response:
    """The pages' language (a cookie); for someone logged in also the language their
    messages are written in (e-mail, the inbox's texts), `User.locale`."""
    if user is not None:
        user.locale = i18n.pick(code)
    back = safe_next(request.query_params.get("next")) or "/"
    response = redirect(back)
    response.set_cookie(LANG_COOKIE, i18n.pick(code), max_age=365 * 86400, samesite="lax")
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "login.html", next=safe_next(request.query_params.get("next")))


@router.post("/login")
async def login_submit(
    request: Request,
    session: Session,
    ctx: Ctx,
    phone: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=128)],
) -> Response:
    form = await check_csrf(request)
    try:
        result = await web_login(request, session, ctx, phone, password)
    except AppError as exc:
        return render(
            request,
            "login.html",
            status_code=exc.status_code,
            error=exc.message,
            phone=phone,
            next=safe_next(str(form.get("next", ""))),
        )
    target = safe_next(str(form.get("next", ""))) or HOME_FOR[result.user.role]
    return with_session_cookie(redirect(target), ctx, result.token)


async def web_login(
    request: Request, session: Session, ctx: Ctx, phone: str, password: str
) -> accounts.LoginResult:
    """Log in for a browser; a bad password is counted (the request still commits)."""
    ip = request.client.host if request.client else "unknown"
    try:
        return await accounts.login(
            session,
            phone=phone,
            password=password,
            ip=ip,
            kind=SessionKind.web,
            max_failures=ctx.settings.login_max_failures,
            window=timedelta(seconds=ctx.settings.login_window_seconds),
            session_days=ctx.settings.session_days,
        )
    except accounts.BadCredentials:
        await accounts.record_failure(session, phone, ip)
        raise


def with_session_cookie(response: Response, ctx: Ctx, token: str) -> Response:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.secure_cookies,
        max_age=ctx.settings.session_days * 86400,
    )
    return response


@router.post("/logout")
async def logout_submit(request: Request, session: Session) -> Response:
    await check_csrf(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await accounts.logout(session, token)
    response = redirect("/")
    response.delete_cookie(SESSION_COOKIE)
    return response


def login_redirect(exc: LoginRequired) -> RedirectResponse:
    target = f"/login?next={quote(exc.next_url)}" if exc.next_url else "/login"
    return RedirectResponse(target, status_code=303)
