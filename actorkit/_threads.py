"""Thread helpers: one deadline shared by many steps, named daemon threads, bounded joins."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

THREAD_PREFIX = 'actorkit-'
"""Every thread actorkit starts has a name with this prefix."""

_log = logging.getLogger('actorkit.threads')


def to_seconds(value: float | timedelta) -> float:
    """A duration given as seconds or as a timedelta, in seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Deadline:
    """A point in time that several waits share, so that together they take no longer."""

    def __init__(self, timeout: float) -> None:
        self._end = time.monotonic() + max(timeout, 0.0)

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(self._end - time.monotonic(), 0.0)

    def expired(self) -> bool:
        """Whether no time is left."""
        return self.remaining() <= 0.0


def start_thread(name: str, target: Callable[[], None]) -> threading.Thread:
    """Start a named daemon thread running ``target``."""
    thread = threading.Thread(target=target, name=THREAD_PREFIX + name, daemon=True)
    thread.start()
    return thread


def join_all(threads: Iterable[threading.Thread], deadline: Deadline) -> list[threading.Thread]:
    """Join threads until the deadline; warn about and return those still alive."""
    alive = []
    for thread in threads:
        if thread is threading.current_thread():
            continue
        thread.join(deadline.remaining())
        if thread.is_alive():
            alive.append(thread)
    for thread in alive:
        _log.warning('thread %s did not stop in time; it is left running as a daemon', thread.name)
    return alive


def run_bounded(name: str, function: Callable[[], None], deadline: Deadline) -> bool:
    """Run ``function`` on a named daemon thread and wait for it until ``deadline``.

    An exception it raises is logged. A call still running at the deadline is reported and
    left behind (its thread is a daemon).

    Returns:
        Whether it finished in time.
    """

    def guarded() -> None:
        try:
            function()
        except Exception:
            _log.exception('%s%s failed', THREAD_PREFIX, name)

    thread = start_thread(name, guarded)
    thread.join(deadline.remaining())
    if thread.is_alive():
        _log.warning(
            '%s did not finish within the cleanup timeout; it is left running as a daemon',
            thread.name,
        )
        return False
    return True


class Ticker:
    """Calls a function every ``interval`` seconds on its own thread until stopped.

    The loop waits on one ``threading.Event``, which is both its timer and its stop signal,
    so :meth:`stop` takes effect at once.
    """

    def __init__(
        self,
        name: str,
        interval: float,
        tick: Callable[[], None],
        *,
        first_delay: float | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        self._name = name
        self._interval = interval
        self._tick = tick
        self._first_delay = first_delay
        self._on_start = on_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread."""
        self._thread = start_thread(self._name, self._run)

    def _run(self) -> None:
        if self._first_delay is not None and self._stop.wait(self._first_delay):
            return
        if self._on_start is not None:
            self._guarded(self._on_start)
        while not self._stop.wait(self._interval):
            self._guarded(self._tick)

    def _guarded(self, function: Callable[[], None]) -> None:
        try:
            function()
        except Exception:
            _log.exception('%s%s failed; it goes on at the next tick', THREAD_PREFIX, self._name)

    def signal_stop(self) -> None:
        """Ask the thread to stop, without waiting for it."""
        self._stop.set()

    @property
    def thread(self) -> threading.Thread | None:
        """The thread, once started."""
        return self._thread
