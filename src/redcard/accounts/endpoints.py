from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from redcard.accounts import service
from redcard.accounts.schemas import LogIn, Me, SignUp, Token
from redcard.deps import Ctx, CurrentUser, Public, Session, allow, bearer_or_cookie
from redcard.errors import Unauthorized
from redcard.http.idempotency import run_idempotent
from redcard.models import Role, SessionKind, User

router = APIRouter(prefix="/auth", tags=["accounts"])
AnyUser = Depends(allow(Role.member, Role.merchant_staff, Role.operator))


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def do_login(
    request: Request, session: Session, ctx: Ctx, phone: str, password: str, kind: SessionKind
) -> service.LoginResult:
    """Log in; a failure is recorded in this request's transaction, which still commits."""
    try:
        return await service.login(
            session,
            phone=phone,
            password=password,
            ip=client_ip(request),
            kind=kind,
            max_failures=ctx.settings.login_max_failures,
            window=timedelta(seconds=ctx.settings.login_window_seconds),
            session_days=ctx.settings.session_days,
        )
    except service.BadCredentials:
        await service.record_failure(session, phone, client_ip(request))
        raise


@router.post("/signup", status_code=201, response_model=Me, dependencies=[Public])
async def sign_up(body: SignUp, request: Request, session: Session) -> JSONResponse:
    """Create a member account."""

    async def action() -> Me:
        user = await service.create_user(
            session,
            phone=body.phone,
            password=body.password,
            display_name=body.display_name,
            role=Role.member,
        )
        return Me.model_validate(user)

    return await run_idempotent(session, request, "signup", action, status_code=201)


@router.post("/login", response_model=Token, dependencies=[Public])
async def log_in(body: LogIn, request: Request, session: Session, ctx: Ctx) -> Token | JSONResponse:
    """Exchange phone + password for a bearer token. Failures are rate-limited."""
    try:
        result = await do_login(request, session, ctx, body.phone, body.password, SessionKind.api)
    except service.BadCredentials as exc:
        return JSONResponse({"error": exc.name, "detail": exc.message}, status_code=401)
    return Token(token=result.token, user=Me.model_validate(result.user))


@router.post("/logout", status_code=204, dependencies=[AnyUser])
async def log_out(request: Request, session: Session) -> None:
    token = bearer_or_cookie(request)
    if token is None:
        raise Unauthorized("log in first")
    await service.logout(session, token)


@router.get("/me", response_model=Me)
async def me(user: CurrentUser, _: User = AnyUser) -> Me:
    assert user is not None
    return Me.model_validate(user)
