"""`redcard report …`: reports an operator keeps or sends on."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from redcard.clikit import console, fail, in_session
from redcard.kit.time import business_day, utc_now
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

    this = business_day(utc_now()).replace(day=1)
    try:
        first = datetime.strptime(month, "%Y-%m").date() if month else this
    except ValueError:
        fail("the month must look like 2026-11")
    if first > this:
        fail("that month has not started yet")
    if lang not in LANGUAGES:
        fail(f"unknown language {lang!r}; use one of: {', '.join(LANGUAGES)}")
    built = in_session(lambda session: report.build(session, first))
    for path in report.write(built, out, lang):
        console.print(f"wrote {path}")
