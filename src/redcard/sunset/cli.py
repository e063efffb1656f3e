"""`redcard sunset ...`: the whole campaign from a terminal — prepare (with its dry run),
approve as a second operator, list, cancel, follow its progress, download the channel's
bill and reconcile. Times are read and printed in the programme's zone (REDCARD_TIMEZONE).

Commands that change a campaign act as a named operator (`--as PHONE`), who signs in with
their password (prompted, or one line on stdin with `--password-stdin`), so the two-person
rule holds here as on the console."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.accounts import service as accounts
from redcard.clikit import console, fail, read_password
from redcard.config import get_settings
from redcard.db import Database
from redcard.errors import AppError, Forbidden
from redcard.kit.money import format_fen
from redcard.kit.time import local_input, local_time
from redcard.models import RefundPolicy, Role, SessionKind, SunsetCampaign, User
from redcard.payments.channels import Channels, build_channels
from redcard.sunset import reconcile as rec
from redcard.sunset import repository as repo
from redcard.sunset import service
from redcard.sunset.dryrun import dry_run

app = typer.Typer(
    help="Program sunset: prepare, approve, follow, bill and reconcile.", no_args_is_help=True
)
T = TypeVar("T")

AS_HELP = "the operator doing this (phone number); they sign in with their password"
STDIN_HELP = "read the password from the first line of stdin (for scripts)"


def _run(fn: Callable[[Database, Channels], Awaitable[T]]) -> T:
    """Run `fn`; a refusal (AppError) is printed in red and exits 1."""
    settings = get_settings()

    async def go() -> T:
        db = Database(settings.database_url)
        channels = build_channels(settings)
        try:
            return await fn(db, channels)
        finally:
            await channels.close()
            await db.dispose()

    try:
        return asyncio.run(go())
    except AppError as exc:
        fail(exc.message)


def _password(from_stdin: bool) -> str:
    return read_password(from_stdin, new=False)


async def _operator(session: AsyncSession, phone: str, password: str) -> User:
    """Sign `phone` in as an operator for this one command (failures count towards the
    login lockout, as on the console); the session is revoked at once."""
    settings = get_settings()
    try:
        result = await accounts.login(
            session,
            phone=phone,
            password=password,
            ip="cli",
            kind=SessionKind.api,
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_window_seconds),
            session_days=1,
        )
    except accounts.BadCredentials:
        await accounts.record_failure(session, phone, "cli")
        await session.commit()  # the failure counts even though the command is refused
        raise
    await accounts.logout(session, result.token)
    if result.user.role != Role.operator:
        raise Forbidden("only an operator can do this")
    return result.user


async def _campaign_id(db: Database, given: str | None) -> uuid.UUID:
    if given:
        try:
            return uuid.UUID(given)
        except ValueError:
            console.print(f"[red]not a campaign id: {given}[/red]")
            raise typer.Exit(2) from None
    async with db.session_scope() as session:
        campaigns = await repo.list_campaigns(session, 1)
    if not campaigns:
        console.print("[red]no sunset has been prepared[/red]")
        raise typer.Exit(1)
    return campaigns[0].id


def _cutoff(text: str) -> datetime:
    try:
        return local_input(datetime.fromisoformat(text.strip()))
    except ValueError:
        console.print(f"[red]--cutoff: not a date and time: {text} (e.g. 2027-01-31 20:00)[/red]")
        raise typer.Exit(2) from None


def _describe(c: SunsetCampaign) -> str:
    return f"Sunset {c.id} · {c.status.value} · cut-off {local_time(c.cutoff_at)}"


@app.command()
def prepare(
    cutoff: str = typer.Option(
        ..., help="when benefits end and refunds start: 'YYYY-MM-DD HH:MM' in the programme's zone"
    ),
    policy: RefundPolicy = typer.Option(RefundPolicy.full, help="what each card gets back"),
    notice: str | None = typer.Option(None, help="the notice every member receives"),
    notice_file: Path | None = typer.Option(None, help="…or read the notice from this file"),
    as_: str = typer.Option(..., "--as", help=AS_HELP),
    password_stdin: bool = typer.Option(False, help=STDIN_HELP),
) -> None:
    """Prepare a sunset and print its dry run. A second operator approves it."""
    text = notice_file.read_text(encoding="utf-8") if notice_file else (notice or "")
    cutoff_at = _cutoff(cutoff)
    password = _password(password_stdin)

    async def go(db: Database, _: Channels) -> None:
        async with db.session_scope() as session:
            operator = await _operator(session, as_, password)
            c = await service.prepare(
                session, operator, cutoff_at=cutoff_at, policy=policy, notice=text
            )
            dry = await dry_run(session, c.policy, c.cutoff_at)
        console.print(_describe(c), soft_wrap=True)
        table = Table(title="Dry run: what approval would refund")
        for column in ("plan", "cards", "refunds"):
            table.add_column(column, justify="left" if column == "plan" else "right")
        for row in dry.by_plan:
            table.add_row(
                f"{row.plan_name} ({row.status})", str(row.count), format_fen(row.total_fen)
            )
        table.add_row("total", str(dry.count), format_fen(dry.total_fen))
        console.print(table)
        if dry.manual_count:
            console.print(
                f"[yellow]{dry.manual_count} cards ({format_fen(dry.manual_fen)}) need a person: "
                "past the channel's refund window[/yellow]"
            )
        console.print(
            f"a second operator approves: redcard sunset approve {c.id} --as PHONE",
            soft_wrap=True,
        )

    _run(go)


@app.command()
def approve(
    campaign: str = typer.Argument(..., help="campaign id"),
    as_: str = typer.Option(..., "--as", help=AS_HELP + " (not the one who prepared it)"),
    password_stdin: bool = typer.Option(False, help=STDIN_HELP),
) -> None:
    """Approve a prepared sunset: sales stop now; benefits end and refunds start at the
    cut-off (the worker does them)."""
    password = _password(password_stdin)

    async def go(db: Database, _: Channels) -> None:
        cid = await _campaign_id(db, campaign)
        async with db.session_scope() as session:
            operator = await _operator(session, as_, password)
            c = await service.approve(session, cid, operator)
        console.print(_describe(c), soft_wrap=True)
        console.print(
            f"sales are closed; {c.items_count} cards, {format_fen(c.total_fen)} to refund "
            f"from {local_time(c.cutoff_at)}; {c.renewals_cancelled} auto-renewals cancelled"
        )

    _run(go)


@app.command()
def cancel(
    campaign: str = typer.Argument(..., help="campaign id"),
    as_: str = typer.Option(..., "--as", help=AS_HELP),
    password_stdin: bool = typer.Option(False, help=STDIN_HELP),
) -> None:
    """Cancel a sunset still waiting for approval (nothing has changed for members)."""
    password = _password(password_stdin)

    async def go(db: Database, _: Channels) -> None:
        cid = await _campaign_id(db, campaign)
        async with db.session_scope() as session:
            await _operator(session, as_, password)
            c = await service.cancel(session, cid)
        console.print(_describe(c), soft_wrap=True)

    _run(go)


@app.command("list")
def list_() -> None:
    """Every campaign, newest first."""

    async def go(db: Database, _: Channels) -> None:
        async with db.session_scope() as session:
            campaigns = await repo.list_campaigns(session, 100)
        console.print(f"{len(campaigns)} sunsets, newest first")
        for c in campaigns:  # one line each: the id whole, for approve, cancel and status
            console.print(
                f"{c.id}  {c.status.value:<9}  cut-off {local_time(c.cutoff_at)}  "
                f"{c.policy.value}  {c.items_count} cards  {format_fen(c.total_fen)}  "
                f"prepared {local_time(c.created_at)}",
                soft_wrap=True,
            )

    _run(go)


@app.command()
def status(campaign: str | None = typer.Option(None, help="campaign id (default: latest)")) -> None:
    """Progress of the campaign: done / pending / failed, with amounts and a progress bar."""

    async def go(db: Database, _: Channels) -> None:
        cid = await _campaign_id(db, campaign)
        async with db.session_scope() as session:
            c = await service.get_campaign(session, cid)
            p = await service.progress(session, c)
        table = Table(title=_describe(c))
        table.add_column("")
        table.add_column("refunds", justify="right")
        table.add_column("amount", justify="right")
        table.add_row("total", str(p.items), format_fen(p.total_fen))
        table.add_row("done", str(p.done), format_fen(p.done_fen))
        table.add_row("  of which offline", str(p.offline), format_fen(p.offline_fen))
        table.add_row("pending", str(p.pending), format_fen(p.pending_fen))
        table.add_row("failed (exceptions)", str(p.failed), format_fen(p.failed_fen))
        console.print(table)
        for label, at in (
            ("approved", c.approved_at),
            ("benefits ended", c.benefits_ended_at),
            ("completed", c.completed_at),
        ):
            if at is not None:
                console.print(f"{label}: {local_time(at)}")
        with Progress(
            TextColumn("refunded"), BarColumn(), MofNCompleteColumn(), console=console
        ) as bar:
            bar.add_task("refunds", total=max(p.items, 1), completed=p.done if p.items else 1)

    _run(go)


@app.command()
def bill(
    day: str = typer.Option(..., help="the bill's day, YYYY-MM-DD (the programme's time zone)"),
    out: Path = typer.Option(Path("bill.csv"), help="where to write the CSV"),
) -> None:
    """Download the channel's bill for a day (through the channel port) as CSV."""
    try:
        the_day = date.fromisoformat(day)
    except ValueError:
        console.print(f"[red]--day: a day is written YYYY-MM-DD, not {day}[/red]")
        raise typer.Exit(2) from None

    async def go(_: Database, channels: Channels) -> int:
        with out.open("w", encoding="utf-8", newline="") as fh:
            return await rec.write_bill_csv(channels.default, the_day, fh)

    n = _run(go)
    console.print(f"{n} lines written to {out}")


@app.command()
def reconcile(
    bill_file: list[Path] = typer.Option(
        [], "--bill", help="bill CSV (repeat for several days); none: download every day's"
    ),
    campaign: str | None = typer.Option(None, help="campaign id (default: latest)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Classify every bill line and every refund of ours: matched / 长款 / 短款 / 单边账, and
    say which days of the campaign's refunds the bills do not cover. Without --bill, the
    channel's bill of every day since approval is downloaded through the channel port.
    Exits 1 unless everything matched and every day is covered."""

    async def go(db: Database, channels: Channels) -> rec.ReconcileReport:
        cid = await _campaign_id(db, campaign)
        with contextlib.ExitStack() as files:
            sources = [
                files.enter_context(path.open(encoding="utf-8", newline="")) for path in bill_file
            ]
            async with db.session_scope() as session:
                if not sources:
                    return await service.reconcile(session, cid, channel=channels.default)
                return await rec.reconcile_csv(session, sources, campaign_id=cid)

    report = _run(go)
    if as_json:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        _print_report(report)
    if not report.complete:
        sys.exit(1)


def _print_report(report: rec.ReconcileReport) -> None:
    table = Table(title=f"{report.bill_lines} bill lines, {report.our_refunds} refunds of ours")
    table.add_column("class")
    for column in ("payment lines", "payments", "refund lines", "refunds"):
        table.add_column(column, justify="right")
    for cls in (rec.MATCHED, rec.LONG, rec.SHORT, rec.ONE_SIDED):
        pay, ref = report.payments.get(cls, rec.Tally()), report.refunds.get(cls, rec.Tally())
        table.add_row(cls, str(pay.lines), format_fen(pay.fen), str(ref.lines), format_fen(ref.fen))
    console.print(table)
    if report.campaign_days:
        days = Table(title="The campaign's refunds by day")
        for column in ("day", "refunds", "amount", "in the bill"):
            days.add_column(column)
        for day in report.campaign_days:
            covered = "yes" if day.in_bill else "[red]missing[/red]"
            days.add_row(day.day, str(day.refunds), format_fen(day.fen), covered)
        console.print(days)
    for d in report.differences[:50]:
        console.print(
            f"{d.cls} {d.kind} {d.reference}: "
            f"bill {d.bill_fen} fen, ours {d.ours_fen} fen ({d.note})"
        )
    for warning in report.warnings:
        console.print(f"[yellow]warning: {warning}[/yellow]")
    if report.complete:
        console.print(
            "[green]no differences; every day of the campaign's refunds is covered[/green]"
        )
    elif report.unexplained:
        console.print(f"[red]{report.unexplained} differences[/red]")
    else:
        console.print(f"[red]incomplete: no bill yet for {', '.join(report.missing_days)}[/red]")
