"""Responses shared by API endpoints and pages."""

from __future__ import annotations

from fastapi.responses import Response


def csv_response(filename: str, body: str) -> Response:
    """A CSV download. UTF-8 with a BOM, so spreadsheet programs read the Chinese names right."""
    return Response(
        "\ufeff" + body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
