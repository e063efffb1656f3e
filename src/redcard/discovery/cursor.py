"""The nearby list's cursor: opaque to callers, url-safe base64 of {offset, query hash}.

Pages are recomputed on every request from the query; the cursor only says how many stores
earlier pages showed and which query it belongs to. A cursor that does not decode, or whose
hash is not the query's (the caller changed the point, radius, filters or page size), is
refused with a 422 rather than silently giving a page of another list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from redcard.errors import InvalidInput

MAX_OFFSET = 100_000


class BadCursor(InvalidInput):
    pass


def query_hash(parts: tuple[object, ...]) -> str:
    """A short hash of the query's parameters (repr keeps floats exact)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def encode(offset: int, qhash: str) -> str:
    raw = json.dumps({"o": offset, "q": qhash}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, qhash: str) -> int:
    """The offset a cursor carries, if it belongs to the query with this hash."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        offset, their_hash = data["o"], data["q"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(
            "the cursor is not one this list gave out; start from the first page"
        ) from exc
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise BadCursor("the cursor is not one this list gave out; start from the first page")
    if their_hash != qhash:
        raise BadCursor(
            "the cursor belongs to another search (point, radius, filters or page size "
            "changed); start from the first page"
        )
    return offset
