"""What the `redcard` commands share: one unit of work per command, and one way to refuse.

Kept apart from cli.py, which imports the capabilities' command groups (accounts/cli.py,
membership/cli.py): they import this, not cli.py.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from redcard.config import get_settings
from redcard.errors import AppError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
console = Console()


def in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one unit of work on REDCARD_DATABASE_URL (commits if it returns)."""
    from redcard.db import Database

    async def _run() -> T:
        db = Database(get_settings().database_url)
        try:
            async with db.session_scope() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(_run())


def in_session_or_fail(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`in_session(work)`; if the work is refused (an AppError), the refusal is printed in red
    and the command exits with code 1, its unit of work rolled back."""
    try:
        return in_session(work)
    except AppError as exc:
        fail(exc.message)


def fail(message: str, *hints: str) -> NoReturn:
    """Refuse: the reason in red, then any hints, exit code 1 (the command wrote nothing)."""
    console.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    for hint in hints:
        console.print(escape(hint), soft_wrap=True)
    raise typer.Exit(1)


def invalid_fields(exc: ValidationError, options: dict[str, str] | None = None) -> NoReturn:
    """Refuse a schema's validation errors, one line per field, worded as the API words them
    (`name: String should have at least 1 character`); `options` names the command-line
    option that fed a field, e.g. {"price_fen": "--price"}."""
    options = options or {}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "input"
        label = f"{field} ({options[field]})" if field in options else field
        console.print(f"[red]{escape(label)}: {escape(error['msg'])}[/red]", soft_wrap=True)
    raise typer.Exit(1)


def read_password(from_stdin: bool, *, new: bool = True) -> str:
    """A password: one line of standard input (for scripts), or typed at a hidden prompt
    (twice when it is a `new` one)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=new))
