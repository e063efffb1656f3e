"""`redcard sunset ...`: follow a campaign, download the channel's bill, reconcile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from redcard.config import get_settings
from redcard.db import Database
from redcard.kit.money import format_fen
from redcard.payments.channels import Channels, build_channels
from redcard.sunset import reconcile as rec
from redcard.sunset import repository as repo
from redcard.sunset import service

app = typer.Typer(help="Program sunset: progress, bill, reconciliation.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _run(fn: Callable[[Database, Channels], Awaitable[T]]) -> T:
    settings = get_settings()

    async def go() -> T:
        db = Database(settings.database_url)
        channels = build_channels(settings)
        try:
            return await fn(db, channels)
        finally:
            await channels.close()
            await db.dispose()

    return asyncio.run(go())


async def _campaign_id(db: Database, given: str | None) -> uuid.UUID:
    if given:
        return uuid.UUID(given)
    async with db.session_scope() as session:
        campaigns = await repo.list_campaigns(session, 1)
    if not campaigns:
        console.print("[red]no sunset has been prepared[/red]")
        raise typer.Exit(1)
    return campaigns[0].id


@app.command()
def status(campaign: str | None = typer.Option(None, help="campaign id (default: latest)")) -> None:
    """Progress of the campaign: done / pending / failed, with amounts and a progress bar."""

    async def go(db: Database, _: Channels) -> None:
        cid = await _campaign_id(db, campaign)
        async with db.session_scope() as session:
            c = await service.get_campaign(session, cid)
            p = await service.progress(session, c)
        table = Table(
            title=f"Sunset {c.id} · {c.status.value} · cut-off {c.cutoff_at:%Y-%m-%d %H:%M} UTC"
        )
        table.add_column("")
        table.add_column("refunds", justify="right")
        table.add_column("amount", justify="right")
        table.add_row("total", str(p.items), format_fen(p.total_fen))
        table.add_row("done", str(p.done), format_fen(p.done_fen))
        table.add_row("  of which offline", str(p.offline), format_fen(p.offline_fen))
        table.add_row("pending", str(p.pending), format_fen(p.pending_fen))
        table.add_row("failed (exceptions)", str(p.failed), format_fen(p.failed_fen))
        console.print(table)
        with Progress(
            TextColumn("refunded"), BarColumn(), MofNCompleteColumn(), console=console
        ) as bar:
            bar.add_task("refunds", total=max(p.items, 1), completed=p.done if p.items else 1)

    _run(go)


@app.command()
def bill(
    day: str = typer.Option(..., help="the bill's day, YYYY-MM-DD (UTC)"),
    out: Path = typer.Option(Path("bill.csv"), help="where to write the CSV"),
) -> None:
    """Download the channel's bill for a day (through the channel port) as CSV."""

    async def go(_: Database, channels: Channels) -> int:
        with out.open("w", encoding="utf-8", newline="") as fh:
            return await rec.write_bill_csv(channels.default, date.fromisoformat(day), fh)

    n = _run(go)
    console.print(f"{n} lines written to {out}")


@app.command()
def reconcile(
    bill_file: list[Path] = typer.Option(..., "--bill", help="bill CSV (repeat for several days)"),
    campaign: str | None = typer.Option(None, help="campaign id (default: latest)"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Classify every bill line and every refund of ours: matched / 长款 / 短款 / 单边账."""

    async def go(db: Database, _: Channels) -> rec.ReconcileReport:
        cid = await _campaign_id(db, campaign)
        with contextlib.ExitStack() as files:
            sources = [
                files.enter_context(path.open(encoding="utf-8", newline="")) for path in bill_file
            ]
            async with db.session_scope() as session:
                return await rec.reconcile_csv(session, sources, campaign_id=cid)

    report = _run(go)
    if as_json:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        table = Table(title=f"{report.bill_lines} bill lines, {report.our_refunds} refunds of ours")
        table.add_column("class")
        table.add_column("lines", justify="right")
        table.add_column("amount", justify="right")
        for cls in (rec.MATCHED, rec.LONG, rec.SHORT, rec.ONE_SIDED):
            table.add_row(
                cls, str(report.counts.get(cls, 0)), format_fen(report.amounts.get(cls, 0))
            )
        console.print(table)
        for d in report.differences[:50]:
            console.print(
                f"{d.cls} {d.kind} {d.reference}: "
                f"bill {d.bill_fen} fen, ours {d.ours_fen} fen ({d.note})"
            )
        verdict = (
            "[green]no differences[/green]"
            if not report.unexplained
            else f"[red]{report.unexplained} differences[/red]"
        )
        console.print(verdict)
    if report.unexplained:
        sys.exit(1)
