"""Idempotency-Key handling for state-changing calls.

The key row is written in the same transaction as the effect. Same key + same request → the
stored response; same key + another request → 409. Two concurrent requests with one key: the
second's INSERT waits on the first's unique-index entry; when the first commits it finds the
row and returns the stored response, and if the first rolls back it proceeds itself. So
concurrent duplicates produce one effect.

`conditional=True` is for actions that are conditional on not having been done yet, such as
a till's commit (an UPDATE ... WHERE status = 'prepared'): the action runs first, and the key
and its response are written in ONE insert afterwards instead of a claim before and the
response after. If the action refuses (raises AppError), a stored outcome for the key, if
any, decides as above (replay or reuse refused). If the key is taken when the response is
written, the request fails and the action's effect rolls back with it. A concurrent duplicate
waits on the action's own row lock instead of the key's unique-index entry. This is only
correct for actions that, once done, refuse before they write anything.
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
from sqlalchemy import Insert, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.errors import AppError, Conflict, InvalidInput
from redcard.kit.ids import new_id
from redcard.kit.rawpg import HotStatement
from redcard.kit.sql import insert_ignore
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
_CLAIM_COLUMNS = ("id", "scope", "key", "request_hash", "created_at")
_DONE_COLUMNS = (*_CLAIM_COLUMNS, "status_code", "response_body")


def _claim(dialect: str) -> Insert:
    return insert_ignore(dialect, _KEYS, ["scope", "key"])


# every state-changing API call runs these, the till's included: built once, on the fast path
_CLAIM = HotStatement(_claim, column_keys=_CLAIM_COLUMNS)
_DONE = HotStatement(_claim, column_keys=_DONE_COLUMNS)  # claim and outcome in one insert
_STORED = HotStatement(
    select(_KEYS.c.request_hash, _KEYS.c.status_code, _KEYS.c.response_body).where(
        _KEYS.c.scope == bindparam("b_scope"), _KEYS.c.key == bindparam("b_key")
    )
)
_STORE = HotStatement(
    update(_KEYS)
    .where(_KEYS.c.scope == bindparam("b_scope"), _KEYS.c.key == bindparam("b_key"))
    .values(status_code=bindparam("b_status"), response_body=bindparam("b_body"))
)


def _replay(stored: Any, digest: str) -> Outcome:
    """The outcome stored for a key (or why there is none to give)."""
    if stored["response_body"] is None or stored["status_code"] is None:
        raise Conflict("a request with this Idempotency-Key is still in progress")
    if stored["request_hash"] != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request; use a new key"
        )
    return Outcome(json.loads(stored["response_body"]), stored["status_code"], replayed=True)


async def _stored(session: AsyncSession, scope: str, key: str) -> Any | None:
    return await _STORED.fetchrow(session, {"b_scope": scope, "b_key": key})


def _body_json(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


async def once(
    session: AsyncSession,
    scope: str,
    key: str,
    digest: str,
    action: Callable[[], Awaitable[BaseModel]],
    status_code: int = 200,
    *,
    conditional: bool = False,
) -> Outcome:
    """Run `action` once per (scope, key); later calls get the stored outcome. The statements
    are built once (they run on every state-changing API call). `conditional`: see the
    module docstring."""
    if not _VALID.match(key):
        raise IdempotencyKeyMissing(
            f"send an {HEADER} header (8-128 letters, digits, '-', '_', '.', ':')"
        )
    row = {"id": new_id(), "scope": scope, "key": key, "request_hash": digest}
    if conditional:
        return await _once_conditional(session, row, action, status_code)
    if not await _CLAIM.execute(session, row | {"created_at": utc_now()}):
        stored = await _stored(session, scope, key)
        if stored is None:
            raise Conflict("a request with this Idempotency-Key is still in progress")
        return _replay(stored, digest)
    result = await action()
    body: Any = result.model_dump(mode="json")
    params = {"b_scope": scope, "b_key": key, "b_status": status_code, "b_body": _body_json(body)}
    await _STORE.execute(session, params)
    return Outcome(body, status_code, replayed=False)


async def _once_conditional(
    session: AsyncSession,
    row: dict[str, Any],
    action: Callable[[], Awaitable[BaseModel]],
    status_code: int,
) -> Outcome:
    try:
        result = await action()
    except AppError:
        stored = await _stored(session, row["scope"], row["key"])
        if stored is None:
            raise
        return _replay(stored, row["request_hash"])
    body: Any = result.model_dump(mode="json")
    done = row | {"created_at": utc_now(), "status_code": status_code}
    if not await _DONE.execute(session, done | {"response_body": _body_json(body)}):
        stored = await _stored(session, row["scope"], row["key"])
        if stored is not None and stored["request_hash"] != row["request_hash"]:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request; use a new key"
            )
        # the same request was done concurrently: raised, so this request's effect rolls back
        raise Conflict("a request with this Idempotency-Key was just completed; retry it")
    return Outcome(body, status_code, replayed=False)


async def run_idempotent(
    session: AsyncSession,
    request: Request,
    scope: str,
    action: Callable[[], Awaitable[BaseModel]],
    status_code: int = 200,
    *,
    conditional: bool = False,
) -> JSONResponse:
    """`once()` for an API request: the key from the header, the fingerprint from the body."""
    key = request.headers.get(HEADER, "")
    digest = fingerprint(request.method, request.url.path, await request.body())
    outcome = await once(session, scope, key, digest, action, status_code, conditional=conditional)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)
