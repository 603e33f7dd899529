"""The status message of a run: deduplicated, logged, and published in the order it was set."""

from __future__ import annotations

import threading
from collections.abc import Callable

from actorkit._logging import logger as _log

Publisher = Callable[[str, bool], None]
"""Sends ``(message, is_terminal)`` somewhere (platform mode: to the run via the API)."""


class StatusMessages:
    """Owns one Actor's status message, for one run at a time.

    :meth:`set` records and logs a message only when it differs from the current one, then
    hands it to the publisher, if any. Publishing is ordered:

    * one message is published at a time (``_publish_lock``), in the order they were set;
    * a message that a newer one replaced while it waited for the lock is not published at
      all (the newer one's setter publishes that instead);
    * once a terminal message was published, nothing set later in the run is published.

    A publisher that raises leaves the message recorded; the error reaches the caller of
    :meth:`set`.

    The publisher is the hook for platform mode. It must not return (or raise) while the
    request it made can still reach the server, e.g. by closing the connection of a request
    it gives up on; with the ordering above, a request it abandoned can then never land after
    the terminal one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self._current: tuple[str, bool] | None = None
        self._sequence = 0
        self._terminal_published = False
        self._publisher: Publisher | None = None

    @property
    def message(self) -> str | None:
        """The last message set in this run, or ``None``."""
        current = self._current
        return current[0] if current else None

    def start_run(self, publisher: Publisher | None = None) -> None:
        """Forget the previous run's message; publish this run's messages with ``publisher``."""
        with self._lock:
            self._current = None
            self._sequence += 1
            self._terminal_published = False
            self._publisher = publisher

    def forget_after_fork(self) -> None:
        """Drop everything without taking locks (a parent's thread may hold them forever)."""
        self._lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self._current = None
        self._terminal_published = False
        self._publisher = None

    def set(self, message: str, *, is_terminal: bool) -> bool:
        """Record, log and publish a message; return whether it changed.

        Args:
            message: The message.
            is_terminal: Whether it is the final message of the run.

        Raises:
            TypeError: ``message`` is not a str.
        """
        if not isinstance(message, str):
            raise TypeError(f'status message must be a str, not {type(message).__name__}')
        with self._lock:
            if self._current == (message, is_terminal):
                return False
            self._current = (message, is_terminal)
            self._sequence += 1
            sequence = self._sequence
        _log.info('[Status message]: %s%s', message, ' (terminal)' if is_terminal else '')
        self._publish(sequence, message, is_terminal)
        return True

    def _publish(self, sequence: int, message: str, is_terminal: bool) -> None:
        with self._publish_lock:
            with self._lock:
                publisher = self._publisher
                stale = sequence != self._sequence or self._terminal_published
            if publisher is None or stale:
                return
            publisher(message, is_terminal)
            if is_terminal:
                with self._lock:
                    self._terminal_published = True
