"""Pictures over HTTP, for pages and API endpoints alike: the upload a form carries (checked
and resized by `kit/images.py`), a body too large to read, and a stored picture served with
caching headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from redcard.kit import images


async def upload_in(form: Mapping[str, Any], field: str = "image") -> images.Resized | None:
    """The picture a form's `field` carries, checked and resized (call it before any
    transaction opens); None when no file was chosen. Raises ImageRefused."""
    upload = form.get(field)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(images.MAX_UPLOAD_BYTES + 1)
    if not data:
        raise images.ImageRefused(images.NOT_AN_IMAGE)
    return await images.prepare(data)


def too_large(request: Request) -> bool:
    """An upload larger than any picture we take is refused before its body is read."""
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) > images.MAX_UPLOAD_BYTES + 64 * 1024


def picture_response(request: Request, data: bytes, content_type: str, digest: str) -> Response:
    """A stored picture. Its URL carries its version (?v=, the first 16 hex digits of its
    SHA-256): with the current one it may be cached for a year, as a new picture gets a new
    URL; without, for five minutes. Either way the ETag lets a browser revalidate for
    nothing."""
    versioned = request.query_params.get("v") == digest[:16]
    headers = {
        "ETag": f'"{digest}"',
        "Cache-Control": "public, max-age=31536000, immutable"
        if versioned
        else "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    if headers["ETag"] in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=content_type, headers=headers)
