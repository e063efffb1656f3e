"""`redcard plans ...` and `redcard terms ...`: what members buy, from the command line.

The same schemas and service calls as the console's API (`POST /api/v1/operator/plans`,
`POST /api/v1/operator/terms`), so input is refused for the same reasons, worded the same:
one line per field, naming the option that fed it.
"""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.clikit import console, fail, in_session, in_session_or_fail, invalid_fields
from redcard.errors import AppError
from redcard.kit.money import MoneyError, format_fen, parse_yuan
from redcard.membership import program, service
from redcard.membership import repository as repo
from redcard.membership.schemas import PlanCreate, TermsCreate
from redcard.models import Plan, PlanStatus

plans_app = typer.Typer(help="Membership plans: what members buy.", no_args_is_help=True)
terms_app = typer.Typer(help="The membership terms every plan cites.", no_args_is_help=True)

PLAN_OPTIONS = {
    "name_en": "--name-en",
    "price_fen": "--price",
    "duration_days": "--days",
    "refund_policy": "--refund-policy",
    "cooling_off_days": "--cooling-off-days",
    "auto_renew_allowed": "--auto-renew",
}
PUBLISH_TERMS_FIRST = (
    "publish terms first: redcard terms publish --title T --body-file F "
    "(a plan cites the terms in force when it is created)"
)


@plans_app.command("create")
def create_plan(
    code: str = typer.Option(..., help="a short unique code, e.g. annual (a-z, 0-9, _ and -)"),
    name: str = typer.Option(..., help="the name members see, e.g. 年卡"),
    name_en: str | None = typer.Option(
        None, "--name-en", help="the name English pages show, e.g. Annual card (else the name)"
    ),
    price: str = typer.Option(..., help="the price in yuan, e.g. 168 or 168.00 (0 for a trial)"),
    days: int = typer.Option(..., "--days", help="how long a card lasts, in days"),
    kind: str = typer.Option("paid", help="paid or trial"),
    refund_policy: str = typer.Option("full", help="full, pro_rata or paid_minus_benefits"),
    cooling_off_days: int = typer.Option(7, help="days after purchase with a full refund"),
    auto_renew: bool = typer.Option(False, help="members may choose automatic renewal"),
) -> None:
    """Create a plan; it cites the membership terms in force and goes on sale at once."""
    try:
        price_fen = parse_yuan(price)
    except MoneyError as exc:
        fail(f"price_fen (--price): {exc}")
    try:
        data = PlanCreate.model_validate(
            {
                "code": code,
                "name": name,
                "name_en": name_en,
                "kind": kind,
                "price_fen": price_fen,
                "duration_days": days,
                "refund_policy": refund_policy,
                "cooling_off_days": cooling_off_days,
                "auto_renew_allowed": auto_renew,
            }
        )
    except ValidationError as exc:
        invalid_fields(exc, PLAN_OPTIONS)

    async def work(session: AsyncSession) -> Plan:
        return await service.create_plan(session, data)

    async def no_terms(session: AsyncSession) -> bool:
        return await repo.latest_terms(session, service.MEMBERSHIP_TERMS) is None

    try:
        plan = in_session(work)
    except AppError as exc:
        fail(exc.message, *([PUBLISH_TERMS_FIRST] if in_session(no_terms) else []))
    console.print(
        f"[green]plan {plan.code} created[/green]: {escape(plan.name)}"
        f"{f' ({escape(plan.name_en)})' if plan.name_en else ''}, "
        f"{format_fen(plan.price_fen)} for {plan.duration_days} days, on sale (id {plan.id})",
        soft_wrap=True,
    )


@plans_app.command("list")
def list_plans() -> None:
    """Every plan, retired ones included, and whether it is on sale."""

    async def work(session: AsyncSession) -> tuple[list[Plan], bool]:
        plans = await repo.list_plans(session, include_retired=True)
        return list(plans), await program.sales_open(session)

    plans, sales_open = in_session(work)
    table = Table(title=f"Plans ({len(plans)})")
    for column in ("code", "name", "kind", "price", "days", "refund policy", "status"):
        table.add_column(column, justify="right" if column in ("price", "days") else "left")
    for plan in plans:
        if plan.status == PlanStatus.retired:
            status = "retired"
        else:
            status = "on sale" if sales_open else "sales closed"
        table.add_row(
            plan.code,
            escape(plan.name + (f" / {plan.name_en}" if plan.name_en else "")),
            plan.kind.value,
            format_fen(plan.price_fen),
            str(plan.duration_days),
            plan.refund_policy.value,
            status,
        )
    console.print(table)


@terms_app.command("publish")
def publish_terms(
    title: str = typer.Option(..., help="the terms' title"),
    body_file: Path = typer.Option(
        ..., exists=True, dir_okay=False, readable=True, help="a UTF-8 text file with the terms"
    ),
) -> None:
    """Publish a new version of the membership terms; plans created afterwards cite it, and
    orders keep the version they were bought under."""
    try:
        body = body_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"body (--body-file): {body_file} is not UTF-8 text")
    try:
        data = TermsCreate.model_validate({"title": title, "body": body})
    except ValidationError as exc:
        invalid_fields(exc, {"title": "--title", "body": "--body-file"})

    async def work(session: AsyncSession) -> tuple[int, str]:
        terms = await service.publish_terms(
            session, service.MEMBERSHIP_TERMS, data.title, data.body
        )
        return terms.version, terms.title

    version, published = in_session_or_fail(work)
    console.print(
        f"[green]membership terms version {version} published[/green]: {escape(published)}",
        soft_wrap=True,
    )
