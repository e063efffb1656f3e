"""A member's data as one zip: `export.json` with every part, and one CSV per part (UTF-8
with a BOM, so spreadsheet programs read the Chinese right). The parts and their columns are
`tables.TABLES`; only the member's own rows are read, each part with one query."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.datarights.tables import TABLES, Part, Person
from redcard.kit.time import utc_now
from redcard.models import User

README = """Redcard: your data
==================

export.json holds everything below in one file; each part is also a CSV file.
Amounts are in fen (1 yuan = 100 fen); times are UTC (ISO 8601).

{parts}
"""


def _value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _label(column: str | tuple[str, Any]) -> str:
    return column if isinstance(column, str) else column[0]


async def _rows(session: AsyncSession, part: Part, person: Person) -> list[dict[str, Any]]:
    exprs = [
        getattr(part.model, c).label(c) if isinstance(c, str) else c[1].label(c[0])
        for c in part.columns
    ]
    order = [part.model.id] if hasattr(part.model, "id") else []
    result = await session.execute(select(*exprs).where(part.rows(person)).order_by(*order))
    labels = [_label(c) for c in part.columns]
    return [{k: _value(v) for k, v in zip(labels, row, strict=True)} for row in result]


async def collect(session: AsyncSession, member: User) -> dict[str, list[dict[str, Any]]]:
    """Every exported part of the member's data, part name → rows."""
    person = Person(member.id, member.phone, member.display_name)
    return {part.name: await _rows(session, part, person) for part in TABLES if part.columns}


def _csv(rows: list[dict[str, Any]], labels: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(labels)
    for row in rows:
        writer.writerow(
            [
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for v in (row[k] for k in labels)
            ]
        )
    return "\ufeff" + out.getvalue()


async def export_zip(session: AsyncSession, member: User) -> bytes:
    """The zip a member downloads."""
    data = await collect(session, member)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        document = {"exported_at": utc_now().isoformat(), "member_id": str(member.id), **data}
        zf.writestr("export.json", json.dumps(document, ensure_ascii=False, indent=2))
        for part in TABLES:
            if part.columns:
                labels = [_label(c) for c in part.columns]
                zf.writestr(f"{part.name}.csv", _csv(data[part.name], labels))
        listing = "\n".join(f"- {name}.csv: {len(rows)} rows" for name, rows in data.items())
        zf.writestr("README.txt", README.format(parts=listing))
    return buffer.getvalue()


def filename(at: datetime | None = None) -> str:
    return f"redcard-my-data-{(at or utc_now()).strftime('%Y%m%d')}.zip"
