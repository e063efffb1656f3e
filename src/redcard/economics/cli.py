"""`redcard report …`: reports an operator keeps or sends on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from redcard.clikit import console, fail, in_session
from redcard.web.i18n import LANGUAGES

app = typer.Typer(help="Reports an operator keeps or sends on.", no_args_is_help=True)


@app.command("economics")
def economics(
    out: Annotated[Path, typer.Option("--out", help="directory to write the report into")],
    month: Annotated[str | None, typer.Option(help="YYYY-MM; default: this month so far")] = None,
    lang: Annotated[str, typer.Option(help="zh_CN or en")] = "zh_CN",
) -> None:
    """The month's headline and merchant value: index.html (self-contained: open it anywhere)
    and headline.csv, merchants.csv (money in fen)."""
    from redcard.economics import report
    from redcard.economics.headline import parse_month

    try:
        first = parse_month(month)
    except ValueError as exc:
        fail(str(exc))
    if lang not in LANGUAGES:
        fail(f"unknown language {lang!r}; use one of: {', '.join(LANGUAGES)}")
    built = in_session(lambda session: report.build(session, first))
    for path in report.write(built, out, lang):
        console.print(f"wrote {path}")


def simulate(
    price: Annotated[str, typer.Option(help="the card's price in yuan")] = "168",
    discount: Annotated[float, typer.Option(help="the member discount, percent off")] = 10.0,
    exclusive: Annotated[
        float | None,
        typer.Option(help="share of partner deals that are members-only, 0-1; default: as now"),
    ] = None,
    density: Annotated[float, typer.Option(help="partner stores within 3 km of a member")] = 30.0,
    members: Annotated[int, typer.Option(help="members drawn")] = 20_000,
    use_history: Annotated[
        bool, typer.Option("--fit/--no-fit", help="fit spend to the programme's own history")
    ] = True,
) -> None:
    """Estimate the break-even share, the renewal rate and the P&L over 12 months for a price,
    a discount and an exclusivity share, with the assumptions beside the results and what
    price or exclusivity would make half the members break even (docs/economics.md)."""
    from rich.table import Table

    from redcard.economics import fitting
    from redcard.economics.simulate import Inputs, run, sensitivity
    from redcard.kit.money import MoneyError, format_fen, parse_yuan

    try:
        base = Inputs(
            price_fen=parse_yuan(price),
            discount_bp=round(discount * 100),
            store_density=density,
            members=members,
            exclusive_share=0.2 if exclusive is None else exclusive,
        )
        base.check()
    except (MoneyError, ValueError) as exc:
        fail(str(exc))

    async def prepare(session):  # type: ignore[no-untyped-def]
        if not use_history:
            return None, None
        found = await fitting.fitted_inputs(session, base, exclusive_as_measured=exclusive is None)
        return found, await fitting.backtest(session)

    fitted, tested = in_session(prepare)
    inputs = fitted.inputs if fitted is not None else base
    result = run(inputs)
    sens = sensitivity(inputs)

    source = "the inputs (no history used)"
    if fitted is not None:
        source = (
            f"fitted to {fitted.member_months} member-months of {fitted.members} paying members"
            if fitted.fitted
            else f"the defaults: too little history ({fitted.members} paying members)"
        )
    table = Table(title=f"Assumptions (spend: {source})")
    table.add_column("")
    table.add_column("")
    for name, text in result.assumptions.items():
        table.add_row(name, text)
    console.print(table)

    out = Table(
        title=f"¥{inputs.price_fen / 100:,.2f} card, {inputs.discount_bp / 100:g}% off, "
        f"{inputs.exclusive_share:.0%} members-only"
    )
    out.add_column("figure")
    out.add_column("value", justify="right")
    out.add_row("members who break even in a year", f"{result.break_even_share:.1%}")
    out.add_row("a member's savings in a year, median", format_fen(result.median_savings_fen))
    days = result.median_days_to_break_even
    out.add_row("days to break even, median of those who do", "—" if days is None else str(days))
    out.add_row("expected renewal rate", f"{result.renewal_rate:.1%}")
    out.add_row("P&L after 12 months", format_fen(result.cumulative_fen[-1]))
    console.print(out)

    grid = Table(title="Break-even share by price (rows) and members-only share (columns)")
    grid.add_column("price")
    for share in sens.exclusive_shares:
        grid.add_column(f"{share:.0%}", justify="right")
    for p, row in zip(sens.prices_fen, sens.break_even, strict=True):
        grid.add_row(format_fen(p), *(f"{v:.1%}" for v in row))
    console.print(grid)
    half_price = sens.half_at_price_fen
    console.print(
        "Half the members break even at a price of "
        + ("no price tried" if half_price is None else format_fen(half_price))
        + "; at this price, with "
        + (
            "no members-only share up to 100%"
            if sens.half_at_exclusive_share is None
            else f"{sens.half_at_exclusive_share:.0%} of deals members-only"
        )
        + "."
    )
    if tested is not None:
        error = tested.error_percent
        console.print(
            f"Back-test on the last 28 days: fitted on the first 14, it predicted "
            f"{format_fen(tested.predicted_spend_fen)} of card spend for the last 14; members "
            f"spent {format_fen(tested.actual_spend_fen)}"
            + ("" if error is None else f" ({error:+.0f}%)")
            + "."
        )
