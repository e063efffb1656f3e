"""Idempotency-Key handling for state-changing calls.

The key row is written in the same transaction as the effect. Same key + same request → the
stored response; same key + another request → 409. Two concurrent requests with one key: the
second's INSERT waits on the first's unique-index entry; when the first commits it finds the
row and returns the stored response, and if the first rolls back it proceeds itself. So
concurrent duplicates produce one effect.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import Conflict, InvalidInput
from redcard.kit.ids import new_id
from redcard.kit.sql import rowcount
from redcard.kit.time import utc_now
from redcard.models import IdempotencyKey

HEADER = "Idempotency-Key"
_VALID = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


class IdempotencyKeyMissing(InvalidInput):
    pass


class IdempotencyKeyReused(Conflict):
    pass


def fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


@dataclass(frozen=True)
class Outcome:
    body: Any
    status_code: int
    replayed: bool


_KEYS = cast(Table, IdempotencyKey.__table__)
_CLAIM = {
    name: dialect.insert(_KEYS).on_conflict_do_nothing(index_elements=["scope", "key"])
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_STORED = select(_KEYS.c.request_hash, _KEYS.c.status_code, _KEYS.c.response_body).where(
    _KEYS.c.scope == bindparam("b_scope"), _KEYS.c.key == bindparam("b_key")
)
_STORE = (
    update(_KEYS)
    .where(_KEYS.c.scope == bindparam("b_scope"), _KEYS.c.key == bindparam("b_key"))
    .values(status_code=bindparam("b_status"), response_body=bindparam("b_body"))
)


async def once(
    session: AsyncSession,
    scope: str,
    key: str,
    digest: str,
    action: Callable[[], Awaitable[BaseModel]],
    status_code: int = 200,
) -> Outcome:
    """Run `action` once per (scope, key); later calls get the stored outcome. The three
    statements are built once (they run on every state-changing API call)."""
    if not _VALID.match(key):
        raise IdempotencyKeyMissing(
            f"send an {HEADER} header (8-128 letters, digits, '-', '_', '.', ':')"
        )
    conn = await session.connection()
    claim = {"id": new_id(), "scope": scope, "key": key, "request_hash": digest}
    inserted = await conn.execute(_CLAIM[conn.dialect.name], claim | {"created_at": utc_now()})
    if not rowcount(inserted):
        stored = (await conn.execute(_STORED, {"b_scope": scope, "b_key": key})).first()
        if stored is None or stored.response_body is None or stored.status_code is None:
            raise Conflict("a request with this Idempotency-Key is still in progress")
        if stored.request_hash != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request; use a new key"
            )
        return Outcome(json.loads(stored.response_body), stored.status_code, replayed=True)
    result = await action()
    body: Any = result.model_dump(mode="json")
    await conn.execute(
        _STORE,
        {
            "b_scope": scope,
            "b_key": key,
            "b_status": status_code,
            "b_body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        },
    )
    return Outcome(body, status_code, replayed=False)


async def run_idempotent(
    session: AsyncSession,
    request: Request,
    scope: str,
    action: Callable[[], Awaitable[BaseModel]],
    status_code: int = 200,
) -> JSONResponse:
    """`once()` for an API request: the key from the header, the fingerprint from the body."""
    key = request.headers.get(HEADER, "")
    digest = fingerprint(request.method, request.url.path, await request.body())
    outcome = await once(session, scope, key, digest, action, status_code)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)
