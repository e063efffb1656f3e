"""Identifiers: time-ordered UUIDv7 keys (index-friendly, safe to shard) and random secrets."""

from __future__ import annotations

import os
import secrets
import time
import uuid


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then randomness."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def reference(prefix: str) -> str:
    """A caller-chosen reference number for a channel (out_trade_no / out_refund_no)."""
    return f"{prefix}{new_id().hex[:24].upper()}"
