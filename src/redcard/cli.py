"""The `redcard` command."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from redcard.accounts.cli import app as users_app
from redcard.clikit import in_session as _in_session
from redcard.config import get_settings
from redcard.economics.cli import app as report_app
from redcard.economics.cli import simulate
from redcard.errors import AppError
from redcard.membership.cli import plans_app, terms_app
from redcard.sunset.cli import app as sunset_app

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Redcard: a paid membership card for local-life commerce.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
config_app = typer.Typer(help="Settings (REDCARD_* environment variables).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(ledger_app, name="ledger")
app.add_typer(sunset_app, name="sunset")
app.add_typer(users_app, name="users")
app.add_typer(plans_app, name="plans")
app.add_typer(terms_app, name="terms")
app.add_typer(report_app, name="report")
app.command("simulate")(simulate)
console = Console()


@app.callback()
def main() -> None:
    """Every command: settings are checked (production refuses demo secrets), and logs are
    structured JSON lines on stderr (REDCARD_LOG_JSON=false for readable ones)."""
    from redcard.ops.logs import configure_logging

    try:
        settings = get_settings()
    except ValidationError as exc:
        console.print(f"[red]{exc.errors()[0]['msg']}[/red]")
        raise typer.Exit(2) from None
    configure_logging(level=settings.log_level, json=settings.log_json)
    settings.apply_zone()
    # every command may confirm a payment or settle a refund: the order kinds come first
    from redcard.order_kinds import register_all

    register_all()


def _serve(host: str, port: int, workers: int = 1) -> None:
    if workers > 1:
        # each process counts for itself; /metrics sums them through this shared directory
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="redcard-metrics-")
        )
        uvicorn.run(
            "redcard.app:serve_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
        )
        return
    from redcard.app import serve_app

    uvicorn.run(serve_app(), host=host, port=port, log_config=None)


def _base_url(host: str, port: int) -> None:
    """Notifications and return URLs point at this server unless REDCARD_BASE_URL says else."""
    if "REDCARD_BASE_URL" not in os.environ:
        os.environ["REDCARD_BASE_URL"] = f"http://{host}:{port}"
        get_settings.cache_clear()


def _warn_without_base_url(base_url: str) -> None:
    """Once at start, when REDCARD_BASE_URL is set nowhere (environment or .env): say where
    the channel's callbacks and the return links will point instead."""
    if "base_url" not in get_settings().model_fields_set:
        log.warning(
            "REDCARD_BASE_URL is not set: the payment channel's callbacks and the pages' "
            "return links point at %s; set REDCARD_BASE_URL to the URL the app is reached at",
            base_url,
        )


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = typer.Option(1, min=1, help="app processes (they share the port)"),
) -> None:
    """Serve the app (API, pages, sandbox channel)."""
    _warn_without_base_url(f"http://{host}:{port}")
    _base_url(host, port)
    _serve(host, port, workers)


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    seed_only: bool = False,
    worker: bool = typer.Option(True, help="run the background worker in the same process"),
) -> None:
    """Migrate, seed the demo city if empty, print the logins, then serve (with the worker,
    so refunds, holds and settlement move without a second terminal)."""
    if worker:
        os.environ.setdefault("REDCARD_RUN_WORKER", "1")
    os.environ.setdefault("REDCARD_LOG_JSON", "false")  # a person reads the demo's terminal
    get_settings.cache_clear()
    _base_url(host, port)
    settings = get_settings()
    from redcard.ops.logs import configure_logging

    configure_logging(level=settings.log_level, json=settings.log_json)
    from redcard.db import Database
    from redcard.demo import DemoLogins, seed
    from redcard.migrate import upgrade
    from redcard.payments.channels import build_channels

    upgrade(settings.database_url)

    async def _seed() -> bool:
        db = Database(settings.database_url)
        channels = build_channels(settings)
        try:
            return await seed(db, channels, settings.base_url)
        finally:
            await channels.close()
            await db.dispose()

    seeded = asyncio.run(_seed())
    logins = DemoLogins()
    table = Table(title="Redcard demo" + (" (seeded)" if seeded else " (already seeded)"))
    table.add_column("who")
    table.add_column("phone")
    table.add_column("password")
    table.add_row("operator", logins.operator, logins.password)
    table.add_row("second operator", logins.second_operator, logins.password)
    table.add_row("member (annual card, savings, 买单 history)", logins.member, logins.password)
    table.add_row("trial member (90-day trial)", logins.trial_member, logins.password)
    table.add_row("companion (on the member's card)", logins.companion, logins.password)
    staff = f"store staff ({logins.chain}, {logins.chain_stores} stores; till: /merchant/pos)"
    table.add_row(staff, logins.staff, logins.password)
    console.print(table)
    console.print(f"Open [bold]{settings.base_url}[/bold]  (API docs: {settings.base_url}/docs)")
    if not seed_only:
        _serve(host, port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to REDCARD_DATABASE_URL (SQLite file by default)."""
    from redcard.migrate import upgrade

    upgrade(get_settings().database_url)
    console.print("database is up to date")


@app.command()
def worker(
    once: bool = typer.Option(False, help="one pass over every step, then exit"),
    until_idle: bool = typer.Option(
        False, help="work until nothing is due, then exit 0 (for cron, scripts and tests)"
    ),
    metrics_port: int | None = typer.Option(
        None, help="serve this worker's Prometheus metrics on this port"
    ),
) -> None:
    """Run background work: refunds, payment status queries, expiry, notifications, the
    sunset and settlement. Runs until SIGTERM or SIGINT, then finishes its batch and exits."""
    from redcard.db import Database
    from redcard.payments.channels import build_channels
    from redcard.worker import Worker

    settings = get_settings()
    _warn_without_base_url(settings.base_url)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)

    async def _run() -> None:
        db = Database(settings.database_url)
        channels = build_channels(settings)
        w = Worker(settings, db, channels)
        w.stop_on_signals()
        await channels.start()  # the sandbox's queue: what earlier runs could not deliver
        try:
            if once:
                console.print(await w.run_once())
            elif until_idle:
                console.print(f"{await w.run_until_idle()} rows done; nothing is due")
            else:
                await w.run_forever()
        finally:
            await channels.close()  # never waits for callback retries: they stay queued
            await db.dispose()

    asyncio.run(_run())


@app.command()
def settle(
    day: str = typer.Option(
        ...,
        help="business day to settle, YYYY-MM-DD: a day in the programme's time zone "
        "(REDCARD_TIMEZONE, default Asia/Shanghai)",
    ),
) -> None:
    """Settle a finished day: one statement per merchant with 买单 activity (idempotent)."""
    from redcard.db import Database
    from redcard.kit.time import zone
    from redcard.settlement.service import parse_day
    from redcard.settlement.tasks import settle_cli

    async def _settle() -> None:
        db = Database(get_settings().database_url)
        try:
            statements = await settle_cli(db, parse_day(day))
        finally:
            await db.dispose()
        table = Table(title=f"Statements for {day} ({zone().key})")
        for column in ("merchant", "bills", "collected", "fees", "clawbacks", "net payable"):
            table.add_column(column)
        for s in statements:
            table.add_row(
                str(s.merchant_id)[:8],
                str(s.bills_count),
                str(s.charged_fen),
                str(s.fee_fen + s.commission_fen),
                str(s.clawback_fen),
                str(s.net_payable_fen),
            )
        console.print(table)
        console.print("amounts in fen")

    try:
        asyncio.run(_settle())
    except AppError as exc:
        console.print(f"[red]{exc.message}[/red]")
        sys.exit(1)


@app.command()
def exceptions() -> None:
    """Notifications a sink refused for good (sink, template, reason); refunds' exceptions are
    on the operator's sunset page."""
    from redcard.delivery.outbox import recent_failures
    from redcard.kit.time import local_time

    failed = _in_session(recent_failures)
    table = Table(title=f"Notifications in the exceptions queue ({len(failed)})")
    for column in ("failed at", "sink", "template", "attempts", "reason"):
        table.add_column(column)
    for row in failed:
        failed_at = local_time(row.failed_at)
        table.add_row(failed_at, row.sink, row.template, str(row.attempts), row.last_error or "")
    console.print(table)


@config_app.command("docs")
def config_docs() -> None:
    """Print docs/configuration.md: every setting with its default (generated)."""
    from redcard.ops.configdoc import configuration_markdown

    sys.stdout.write(configuration_markdown())


@ledger_app.command("check")
def ledger_check() -> None:
    """Prove every entry balances and every balance equals the sum of its lines."""
    from redcard.ledger.service import check
    from redcard.payments import refunds  # noqa: F401 - registers the refunds subledger

    report = _in_session(check)
    console.print(f"{report.entries} entries, {report.accounts} accounts")
    for label, items in (
        ("unbalanced entries", report.unbalanced_entries),
        ("entries with fewer than two lines", report.short_entries),
        ("accounts whose balance drifted", report.drifted_accounts),
        ("entries that disagree with the rows they cover", report.subledger_differences),
    ):
        if items:
            console.print(f"[red]{label}:[/red] {', '.join(items[:20])}")
    console.print("[green]ledger OK[/green]" if report.ok else "[red]ledger BROKEN[/red]")
    if not report.ok:
        sys.exit(1)


if __name__ == "__main__":
    app()
