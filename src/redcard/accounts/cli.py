"""`redcard users ...`: the first operator on an empty database, password resets, disabling.

A password is typed twice at a hidden prompt, or read from one line of standard input with
`--password-stdin` (scripts); it is never printed. The rules are the sign-up's
(accounts/service.py): an 11-digit mainland mobile number, 8 to 128 characters.
"""

from __future__ import annotations

import typer
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.accounts import service
from redcard.clikit import console, fail, in_session_or_fail, read_password
from redcard.config import get_settings
from redcard.errors import AppError
from redcard.models import Role

app = typer.Typer(
    help="People who log in: create the first operator, reset a password, disable an account.",
    no_args_is_help=True,
)

PHONE = typer.Option(..., "--phone", help="the account's mobile number, e.g. 13800000000")
PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="read the password from one line of standard input"
)


def _phone(phone: str) -> str:
    """The phone in its stored form, refused before any password is asked for."""
    try:
        return service.normalise_phone(phone)
    except AppError as exc:
        fail(exc.message)


def _password(from_stdin: bool) -> str:
    password = read_password(from_stdin)
    try:
        service.check_password(password)
    except AppError as exc:
        fail(exc.message)
    return password


@app.command("create-operator")
def create_operator(
    phone: str = PHONE,
    name: str = typer.Option("Operator", help="the name shown in the console"),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create an operator account (the first one: after `redcard db upgrade`).

    Operators run the console at /operator."""
    phone = _phone(phone)
    password = _password(password_stdin)

    async def work(session: AsyncSession) -> str:
        user = await service.create_user(
            session, phone=phone, password=password, display_name=name, role=Role.operator
        )
        return user.display_name

    display_name = in_session_or_fail(work)
    console.print(
        f"[green]operator {escape(display_name)} ({phone}) created[/green]; "
        f"log in at {get_settings().base_url}/login",
        soft_wrap=True,
    )


@app.command("reset-password")
def reset_password(phone: str = PHONE, password_stdin: bool = PASSWORD_STDIN) -> None:
    """Set a new password; every login made with the old one is ended."""
    phone = _phone(phone)
    password = _password(password_stdin)

    async def work(session: AsyncSession) -> int:
        return await service.reset_password(session, phone=phone, password=password)

    ended = in_session_or_fail(work)
    console.print(f"[green]password of {phone} changed[/green]; {ended} logins ended")


@app.command()
def disable(phone: str = PHONE) -> None:
    """Disable an account: no more logins, and its current ones stop working.

    The last active operator cannot be disabled."""
    phone = _phone(phone)

    async def work(session: AsyncSession) -> int:
        return await service.disable_user(session, phone=phone)

    ended = in_session_or_fail(work)
    console.print(
        f"[green]{phone} is disabled[/green]: it can no longer log in, and its {ended} "
        "logins stopped working (`redcard users enable` reopens it)",
        soft_wrap=True,
    )


@app.command()
def enable(phone: str = PHONE) -> None:
    """Reopen a disabled account, with its old password."""
    phone = _phone(phone)

    async def work(session: AsyncSession) -> None:
        await service.enable_user(session, phone=phone)

    in_session_or_fail(work)
    console.print(f"[green]{phone} can log in again[/green]")
