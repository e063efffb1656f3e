"""Accounts and logins. Passwords are argon2id hashes, made and checked off the event loop
(accounts/passwords.py); tokens are stored only as SHA-256."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.accounts.passwords import DUMMY_HASH, hash_password, turn, verify_password
from redcard.errors import Conflict, InvalidInput, NotFound, TooManyRequests, Unauthorized
from redcard.kit.ids import new_token
from redcard.kit.sql import rowcount
from redcard.kit.time import utc_now
from redcard.models import AuthSession, LoginAttempt, Role, SessionKind, User

PHONE = re.compile(r"^1[3-9]\d{9}$")


class PhoneTaken(Conflict):
    pass


class BadCredentials(Unauthorized):
    pass


class LoginRateLimited(TooManyRequests):
    pass


class UnknownAccount(NotFound):
    pass


class LastOperator(Conflict):
    pass


class WrongPassword(InvalidInput):
    pass


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"[\s-]", "", phone)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not PHONE.match(digits):
        raise InvalidInput("enter an 11-digit mainland mobile number")
    return digits


MAX_PASSWORD = 128


def check_password(password: str) -> None:
    if not 8 <= len(password) <= MAX_PASSWORD:
        raise InvalidInput("a password has 8 to 128 characters")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(
    session: AsyncSession,
    *,
    phone: str,
    password: str,
    display_name: str,
    role: Role,
    locale: str | None = None,
) -> User:
    phone = normalise_phone(phone)
    check_password(password)
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= 64:
        raise InvalidInput("a name has 1 to 64 characters")
    if await session.scalar(select(User.id).where(User.phone == phone)):
        raise PhoneTaken("this phone number already has an account")
    user = User(
        phone=phone,
        password_hash=await hash_password(password),
        display_name=display_name,
        role=role,
        locale=locale,
    )
    session.add(user)
    await session.flush()
    return user


async def _recent_failures(session: AsyncSession, phone: str, ip: str, window: timedelta) -> int:
    since = utc_now() - window
    count = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.at >= since, or_(LoginAttempt.phone == phone, LoginAttempt.ip == ip))
    )
    return int(count or 0)


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str


async def login(
    session: AsyncSession,
    *,
    phone: str,
    password: str,
    ip: str,
    kind: SessionKind,
    max_failures: int,
    window: timedelta,
    session_days: int,
) -> LoginResult:
    """Check credentials; failures are counted per phone and per IP inside `window`.
    The caller must commit even when this raises BadCredentials, so the failure is counted:
    endpoints do that through `record_failure` in a separate unit of work.
    A burst of logins waits for its turns before its first query (accounts/passwords.py)."""
    try:
        phone = normalise_phone(phone)
    except InvalidInput as exc:
        raise BadCredentials("wrong phone number or password") from exc
    async with turn():
        if await _recent_failures(session, phone, ip, window) >= max_failures:
            raise LoginRateLimited("too many failed logins; wait 15 minutes and try again")
        user = await session.scalar(
            select(User).where(User.phone == phone, User.closed_at.is_(None))
        )
        # an unknown phone is checked against a dummy hash: it answers as slowly as a known one
        if not await verify_password(user.password_hash if user else DUMMY_HASH, password):
            user = None
    if user is None:
        raise BadCredentials("wrong phone number or password")
    token = new_token()
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            user_id=user.id,
            kind=kind,
            expires_at=utc_now() + timedelta(days=session_days),
        )
    )
    await session.flush()
    return LoginResult(user=user, token=token)


async def record_failure(session: AsyncSession, phone: str, ip: str) -> None:
    session.add(LoginAttempt(phone=phone[:20], ip=ip[:64], at=utc_now()))
    await session.flush()


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    return await session.scalar(
        select(User)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(
            AuthSession.token_hash == token_hash(token),
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utc_now(),
            User.closed_at.is_(None),
        )
    )


async def logout(session: AsyncSession, token: str) -> None:
    await session.execute(
        update(AuthSession)
        .where(AuthSession.token_hash == token_hash(token))
        .values(revoked_at=utc_now())
    )


# -- the operator's commands (redcard users ...) ---------------------------------------------
async def get_by_phone(session: AsyncSession, phone: str) -> User:
    user = await session.scalar(select(User).where(User.phone == normalise_phone(phone)))
    if user is None:
        raise UnknownAccount("no account has this phone number")
    return user


async def revoke_sessions(
    session: AsyncSession, user_id: uuid.UUID, *, keep_token: str | None = None
) -> int:
    """End every login of this user (browsers and API tokens) but `keep_token`'s, if given
    (the login asking); returns how many were live."""
    stmt = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep_token is not None:
        stmt = stmt.where(AuthSession.token_hash != token_hash(keep_token))
    return rowcount(await session.execute(stmt.values(revoked_at=utc_now())))


async def reset_password(session: AsyncSession, *, phone: str, password: str) -> int:
    """A new password; the old one and every login made with it stop working. Returns the
    number of logins ended. A disabled account stays disabled."""
    check_password(password)
    user = await get_by_phone(session, phone)
    user.password_hash = await hash_password(password)
    revoked = await revoke_sessions(session, user.id)
    await session.flush()
    return revoked


async def confirm_password(user: User, password: str) -> None:
    """The member proves it is them (changing the password, closing the account): the check
    takes a login's turn (accounts/passwords.py)."""
    async with turn():
        right = len(password) <= MAX_PASSWORD and await verify_password(
            user.password_hash, password
        )
    if not right:
        raise WrongPassword("your current password is not right")


async def change_password(
    session: AsyncSession,
    user: User,
    old_password: str,
    new_password: str,
    *,
    keep_token: str | None = None,
) -> int:
    """The member changes their own password, knowing the current one: the old password and
    every other login stop working, the login asking (`keep_token`) stays. Returns the
    number of logins ended. The check takes a login's turn (accounts/passwords.py)."""
    check_password(new_password)
    await confirm_password(user, old_password)
    user.password_hash = await hash_password(new_password)
    revoked = await revoke_sessions(session, user.id, keep_token=keep_token)
    await session.flush()
    return revoked


async def disable_user(session: AsyncSession, *, phone: str) -> int:
    """Close the account: it can no longer log in and its logins stop working (`closed_at`,
    which `login` and `user_for_token` check). The last active operator cannot be disabled,
    or the deployment would have no way in: the active operators are locked (in id order)
    while they are counted, so two operators disabling each other cannot both succeed.
    Returns the number of logins ended."""
    user = await get_by_phone(session, phone)
    if user.closed_at is not None:
        raise Conflict("this account is already disabled")
    if user.role == Role.operator:
        active = await session.scalars(
            select(User.id)
            .where(User.role == Role.operator, User.closed_at.is_(None))
            .order_by(User.id)
            .with_for_update()
        )
        if len(active.all()) <= 1:
            raise LastOperator(
                "this is the last active operator; create another operator first "
                "(redcard users create-operator), so the deployment keeps a way in"
            )
    user.closed_at = utc_now()
    revoked = await revoke_sessions(session, user.id)
    await session.flush()
    return revoked


async def enable_user(session: AsyncSession, *, phone: str) -> User:
    """Reopen a disabled account (its password is unchanged; its old logins stay ended)."""
    user = await get_by_phone(session, phone)
    if user.closed_at is None:
        raise Conflict("this account is not disabled")
    user.closed_at = None
    await session.flush()
    return user
