"""Member codes: what the member shows at the till.

A code is 13 digits: a 7-digit *disguised handle* followed by 6 TOTP digits.

- Every member has a random public `handle` (0 .. 9,999,999; not the member id) and a 32-byte
  secret (`member_codes`).
- TOTP digits: RFC 6238 with HMAC-SHA256, 30 s step, 6 digits, from the member's secret.
- The handle is disguised per step with a keyed format-preserving permutation (a 4-round
  Feistel network over 24 bits with cycle-walking into 10^7, keyed by the server secret and the
  step). So the first 7 digits change every 30 s too: someone who sees two codes cannot tell
  they belong to the same member, and nothing in the code reveals the member id.
- The till's code is checked for steps s, s-1 and s+1 (one step of tolerance): for each step
  the server un-permutes the first 7 digits to a candidate handle, looks the (at most three)
  handles up in ONE indexed query, and checks the TOTP digits for that step with the member's
  secret in constant time. No scan over members.
- Single use: committing a redemption inserts (member_id, step) into `code_burns` (unique).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

STEP_SECONDS = 30
DIGITS = 6
HANDLE_DIGITS = 7
HANDLE_SPACE = 10**HANDLE_DIGITS
CODE_LENGTH = HANDLE_DIGITS + DIGITS
_HALF_BITS = 12
_HALF_MASK = (1 << _HALF_BITS) - 1
_ROUNDS = 4


def new_secret() -> str:
    return secrets.token_hex(32)


def new_handle() -> int:
    return secrets.randbelow(HANDLE_SPACE)


def step_at(unix_seconds: float) -> int:
    return int(unix_seconds // STEP_SECONDS)


def totp(secret_hex: str, step: int) -> str:
    """RFC 6238 TOTP (HMAC-SHA256, dynamic truncation) for time step `step`."""
    mac = hmac.new(bytes.fromhex(secret_hex), struct.pack(">Q", step), hashlib.sha256).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**DIGITS:0{DIGITS}d}"


def _round_keys(key: bytes, step: int) -> list[bytes]:
    base = hmac.new(key, b"handle-mask:" + struct.pack(">Q", step), hashlib.sha256).digest()
    return [base + bytes([i]) for i in range(_ROUNDS)]


def _f(round_key: bytes, half: int) -> int:
    mac = hmac.new(round_key, half.to_bytes(2, "big"), hashlib.sha256).digest()
    return int.from_bytes(mac[:2], "big") & _HALF_MASK


def _feistel(value: int, keys: list[bytes]) -> int:
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    for k in keys:
        left, right = right, left ^ _f(k, right)
    return (left << _HALF_BITS) | right


def _feistel_inverse(value: int, keys: list[bytes]) -> int:
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    for k in reversed(keys):
        left, right = right ^ _f(k, left), left
    return (left << _HALF_BITS) | right


def mask_handle(handle: int, key: bytes, step: int) -> int:
    """A permutation of 0..10^7-1 that changes every step (cycle-walking a 24-bit Feistel)."""
    keys = _round_keys(key, step)
    value = _feistel(handle, keys)
    while value >= HANDLE_SPACE:
        value = _feistel(value, keys)
    return value


def unmask_handle(masked: int, key: bytes, step: int) -> int:
    keys = _round_keys(key, step)
    value = _feistel_inverse(masked, keys)
    while value >= HANDLE_SPACE:
        value = _feistel_inverse(value, keys)
    return value


def member_code(handle: int, secret_hex: str, key: bytes, step: int) -> str:
    """The 13-digit code a member shows during `step`."""
    return f"{mask_handle(handle, key, step):0{HANDLE_DIGITS}d}{totp(secret_hex, step)}"


def normalise(code: str) -> str | None:
    """Digits only (spaces and dashes dropped, full-width digits accepted); None if malformed."""
    import unicodedata

    digits = "".join(ch for ch in unicodedata.normalize("NFKC", code) if ch not in " -")
    if len(digits) != CODE_LENGTH or not digits.isascii() or not digits.isdigit():
        return None
    return digits


@dataclass(frozen=True)
class Candidate:
    step: int
    handle: int
    digits: str


def candidates(code: str, key: bytes, now_step: int) -> list[Candidate]:
    """The (step, handle) pairs a well-formed code could stand for: s, s-1, s+1."""
    masked, digits = int(code[:HANDLE_DIGITS]), code[HANDLE_DIGITS:]
    return [
        Candidate(step, unmask_handle(masked, key, step), digits)
        for step in (now_step, now_step - 1, now_step + 1)
    ]


def matches(candidate: Candidate, secret_hex: str) -> bool:
    return hmac.compare_digest(totp(secret_hex, candidate.step), candidate.digits)


def group(code: str) -> str:
    """For display: 1234 567 890 123."""
    return f"{code[:4]} {code[4:7]} {code[7:10]} {code[10:]}"


def code_key(secret_key: str) -> bytes:
    return hashlib.sha256(b"redcard-member-code:" + secret_key.encode()).digest()
