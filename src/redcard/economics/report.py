"""`redcard report economics`: the month's headline and merchant value as one self-contained
HTML page (inline styles and SVG, nothing fetched) and one CSV per table, for an operator to
keep or send on. The same figures as the console (economics/headline.py, merchants.py)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.economics.headline import Headline, headline, month_bounds
from redcard.economics.merchants import (
    Concentration,
    MerchantRow,
    concentration,
    merchant_table,
)
from redcard.kit.money import format_fen
from redcard.kit.time import local_time, utc_now
from redcard.web import i18n

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
HEADLINE_FIELDS = (
    "paying_members",
    "trials",
    "redemptions",
    "savings_fen",
    "broken_even",
    "break_even_percent",
    "exclusive_redemptions",
    "scarcity_count_percent",
    "bills_fen",
    "exclusive_bills_fen",
    "scarcity_value_percent",
)
MERCHANT_FIELDS = (
    "merchant_id",
    "name",
    "visits",
    "holders",
    "repeat_holders",
    "repeat_percent",
    "bills_fen",
    "discount_fen",
    "fees_fen",
    "net_fen",
)


@dataclass(frozen=True, slots=True)
class Report:
    headline: Headline
    merchants: list[MerchantRow]
    concentration: Concentration
    made_at: datetime


async def build(session: AsyncSession, month: date, now: datetime | None = None) -> Report:
    now = now or utc_now()
    start, end = month_bounds(month)
    end = min(end, now)
    return Report(
        headline=await headline(session, month, now),
        merchants=await merchant_table(session, start, end),
        concentration=await concentration(session, start, end),
        made_at=now,
    )


def write(report: Report, out: Path, locale: str = i18n.DEFAULT) -> list[Path]:
    """index.html, headline.csv and merchants.csv in `out` (made if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    h = report.headline
    with (out / "headline.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["figure", h.month.strftime("%Y-%m"), "previous month"])
        for name in HEADLINE_FIELDS:
            writer.writerow([name, getattr(h.current, name), getattr(h.previous, name)])
    with (out / "merchants.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(MERCHANT_FIELDS)
        for row in report.merchants:
            writer.writerow([getattr(row, name) for name in MERCHANT_FIELDS])
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    html = env.get_template("report/economics.html").render(
        r=report,
        h=h,
        _=i18n.gettext_for(locale),
        money=format_fen,
        when=local_time,
        lang="zh-CN" if locale == "zh_CN" else "en",
    )
    (out / "index.html").write_text(html, encoding="utf-8")
    return [out / "index.html", out / "headline.csv", out / "merchants.csv"]
