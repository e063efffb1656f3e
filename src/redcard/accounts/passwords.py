"""Password hashes, off the event loop.

An argon2id hash or check (the library's defaults: 64 MiB, 3 passes) costs about 0.2 s of CPU.
Run on the event loop, a burst of logins stalled every other request, the tills' included.
Here every hash and check runs in a small pool of threads (argon2 releases the GIL, so they
really run in parallel with the loop and with each other):

- REDCARD_PASSWORD_HASH_THREADS threads per process (default: half the cores, 1 to 4) bound
  the hashes running at once; further ones queue for a thread.
- A login takes its `turn()` before its first query: as many logins as there are threads get
  past it, the others wait on the event loop holding no database connection, so a burst of
  logins cannot empty the connection pool the tills use.
- On Linux the threads run 10 steps nicer than the process: on busy cores the request
  handlers come first and logins slow down, not the tills (bench/login.py measures it; a
  plain pool at normal priority let 32 logins make the tills' p99 2.5 to 8.6 times longer on
  2 cores). They are not
  starved either: at idle priority (SCHED_IDLE) a login could wait a minute on a machine
  busy with other work.

Every hash goes through `hash_password` and every check through `verify_password`: nothing
else in the code calls argon2.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from redcard.config import get_settings

_hasher = PasswordHasher()
# what an unknown phone's login is checked against, so that it costs what a known one does:
# made once by _hasher and written here (a test proves their parameters still match), since
# hashing it at import would cost every `redcard` command 0.2 s
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$iSR8u/JwSxwc5xRE8rfaMA$"
    "IswzoLrXg9k4xDgpAM4ib7OaJ/bnAImFwYjxgPV2guA"
)
NICER_BY = 10
_threads: ThreadPoolExecutor | None = None
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def thread_count() -> int:
    """REDCARD_PASSWORD_HASH_THREADS, or half the cores (at least 1, at most 4): the other
    half stays with the event loop, the database and the rest of the machine."""
    return get_settings().password_hash_threads or max(1, min(4, (os.cpu_count() or 1) // 2))


def _lower_priority() -> None:
    """Each hashing thread, as it starts: 10 steps nicer than the process, so that on busy
    cores a request handler gets about ten times its share of the CPU (an idle core still
    hashes at full speed). Linux only: elsewhere a thread id is not a process id."""
    if sys.platform == "linux":
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness + NICER_BY))


def _pool() -> ThreadPoolExecutor:
    global _threads
    if _threads is None:
        _threads = ThreadPoolExecutor(
            max_workers=thread_count(), thread_name_prefix="argon2", initializer=_lower_priority
        )
    return _threads


@asynccontextmanager
async def turn() -> AsyncIterator[None]:
    """A login's turn: at most `thread_count()` logins of this event loop past this point.
    Taken before a login's first query, so that a login waiting for a hashing thread waits
    here, holding no database connection."""
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = asyncio.Semaphore(thread_count())
    async with turns:
        yield


async def hash_password(password: str) -> str:
    """The argon2id hash of `password`."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), _hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash` (False for a malformed hash)."""
    try:
        return await asyncio.get_running_loop().run_in_executor(
            _pool(), _hasher.verify, password_hash, password
        )
    except (VerificationError, InvalidHashError):
        return False
