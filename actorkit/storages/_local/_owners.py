"""Who holds a request of a local request queue in progress, and whether that holder is alive.

A request in progress carries a :class:`Hold`: the pid of the holder's process, the time that
process started (so that a recycled pid does not count as the same process), the token of the
client that fetched it, and an optional expiry. A hold is alive while:

- it has not expired (``lock_expiry`` was given), and
- its process exists and started at that time, and
- in this process: its client is still open (its token is live). A client that is closed
  releases its holds in the journal for every process at once; a client that is garbage
  collected without being closed only drops its token, which frees its holds for the clients
  of this process, while other processes see them freed when this process ends.

:class:`Owner` is one client's identity as a holder, renewed after a fork (a forked child holds
none of its parent's requests), and its cached view of the other holders' processes.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import weakref
from typing import Any

LIVENESS_TTL = 1.0
"""Seconds a "this process is alive" answer is trusted; "dead" is trusted forever."""
CREATE_TIME_TOLERANCE = 1.0
"""Seconds two start times of one pid may differ and still be the same process."""

_LIVE_TOKENS: set[str] = set()
"""Tokens of the clients of this process that are open: their holds are alive."""
_LIVE_TOKENS_LOCK = threading.Lock()


class Hold:
    """Who holds a request in progress (one ``l`` event of the journal)."""

    __slots__ = ('create_time', 'expires_at', 'pid', 'token')

    def __init__(self, pid: int, create_time: float, token: str, expires_at: float | None) -> None:
        self.pid = pid
        self.create_time = create_time
        self.token = token
        self.expires_at = expires_at

    def event(self, unique_key: str) -> list[Any]:
        """Return the journal event that records this hold of ``unique_key``."""
        return ['l', unique_key, self.pid, self.create_time, self.token, self.expires_at]


def process_alive(pid: int, create_time: float) -> bool:
    """Whether the process ``pid`` exists and was started at ``create_time`` (not a zombie)."""
    import psutil  # noqa: PLC0415 (lazy: costly import)

    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - create_time) > CREATE_TIME_TOLERANCE:
            return False  # the pid was recycled by a newer process
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; we may not look at it


def own_create_time() -> float:
    """Return the start time of this process, as :func:`process_alive` compares it."""
    import psutil  # noqa: PLC0415 (lazy: costly import)

    return float(psutil.Process(os.getpid()).create_time())


def _forget_token(token: str) -> None:
    with _LIVE_TOKENS_LOCK:
        _LIVE_TOKENS.discard(token)


class Owner:
    """One client's identity as a holder of requests, and its view of the other holders."""

    def __init__(self, client: object, lock_expiry: float | None) -> None:
        """Claim a fresh identity for ``client`` (its token lives as long as the client).

        Args:
            client: The client whose holds this identity makes; when it is garbage collected
                its token dies, and its holds are free for the other clients of this process.
            lock_expiry: Seconds after which a hold expires, or ``None`` for never.
        """
        self._lock_expiry = lock_expiry
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self.pid = -1
        self.create_time = 0.0
        self.token = ''
        self._alive_cache: dict[tuple[int, float], tuple[bool, float]] = {}
        self.claim(client)

    def claim(self, client: object) -> None:
        """Take a fresh identity (at start, and in a forked child)."""
        self.pid = os.getpid()
        self.create_time = own_create_time()
        self.token = secrets.token_hex(8)
        self._alive_cache = {}
        with _LIVE_TOKENS_LOCK:
            _LIVE_TOKENS.add(self.token)
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(client, _forget_token, self.token)

    @property
    def forked(self) -> bool:
        """Whether this identity belongs to another process (the one this one forked from)."""
        return self.pid != os.getpid()

    def release(self) -> None:
        """Let the token die now: the holds it made are no longer alive in this process."""
        if self._finalizer is not None:
            self._finalizer()

    def new_hold(self) -> Hold:
        """Return a hold of this client, expiring after ``lock_expiry`` if it was given."""
        expires_at = None if self._lock_expiry is None else time.time() + self._lock_expiry
        return Hold(self.pid, self.create_time, self.token, expires_at)

    def owns(self, hold: Hold | None) -> bool:
        """Whether ``hold`` was made by this client (in this process)."""
        return hold is not None and hold.token == self.token and hold.pid == self.pid

    def alive(self, hold: Hold, clock: float) -> bool:
        """Whether ``hold`` still holds its request (``clock`` is ``time.monotonic()``)."""
        if hold.expires_at is not None and hold.expires_at <= time.time():
            return False
        if hold.pid == self.pid and abs(hold.create_time - self.create_time) <= (
            CREATE_TIME_TOLERANCE
        ):
            with _LIVE_TOKENS_LOCK:
                return hold.token in _LIVE_TOKENS
        key = (hold.pid, hold.create_time)
        cached = self._alive_cache.get(key)
        if cached is not None and (not cached[0] or clock - cached[1] < LIVENESS_TTL):
            return cached[0]
        alive = process_alive(hold.pid, hold.create_time)
        self._alive_cache[key] = (alive, clock)
        return alive
