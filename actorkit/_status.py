"""The status message of a run: deduplicated, logged, and published in the order it was set."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actorkit._logging import logger as _log

if TYPE_CHECKING:
    from actorkit._config import Configuration

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

    @property
    def is_terminal(self) -> bool:
        """Whether the current message is the run's terminal one."""
        current = self._current
        return bool(current and current[1])

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


def terminal_message(exit_code: int) -> str:
    """The terminal status message of a run that set none (the platform's default wording)."""
    return f'Actor finished with exit code {exit_code}'


def platform_publisher(config: Configuration) -> Publisher | None:
    """Return the publisher that sends status messages to the run, or ``None`` off the platform.

    It sends ``PUT /v2/actor-runs/{runId}`` with ``statusMessage`` and
    ``isStatusMessageTerminal``; the API client (and ``requests``) is loaded at the first
    message. An error of the API (after the client's retries) reaches the caller.
    """
    run_id = config.actor_run_id
    if not config.is_at_home or not run_id or not config.token:
        return None
    token = str(config.token)
    api_url = config.api_base_url
    clients: list[Any] = []

    def publish(message: str, is_terminal: bool) -> None:
        if not clients:  # (publishers are called one at a time)
            from actorkit.client import ApifyClient  # noqa: PLC0415 (platform runs only)

            clients.append(ApifyClient(token, api_url=api_url))
        clients[0].run(run_id).update(
            status_message=message, is_status_message_terminal=is_terminal
        )

    return publish


class ActorStatusMethods:
    """``set_status_message`` and ``status_message``: :class:`~actorkit.Actor` inherits them."""

    _status: StatusMessages
    _exit_status_message: str | None

    def set_status_message(
        self,
        status_message: str | None = None,
        *,
        is_terminal: bool | None = None,
        message: str | None = None,
    ) -> None:
        """Set the run's status message, telling users what the Actor is doing.

        It is logged (and, on the platform, sent) only when it changes.

        Args:
            status_message: The message.
            is_terminal: Whether this is the final message of the run.
            message: Another name of ``status_message``, kept from earlier versions.
        """
        if status_message is not None and message is not None:
            raise TypeError('pass the status message once: as status_message or as message')
        text = status_message if status_message is not None else message
        if text is None:
            raise TypeError('set_status_message() needs the message: pass status_message=...')
        self._status.set(text, is_terminal=bool(is_terminal))

    @property
    def status_message(self) -> str | None:
        """The status message: the one set for ``exit()``, else the last one set in this run.

        Setting it (as in the official SDK) chooses the terminal message that ``exit()`` and
        ``fail()`` show when they are given none; it is not sent before that.
        """
        if self._exit_status_message is not None:
            return self._exit_status_message
        return self._status.message

    @status_message.setter
    def status_message(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f'status_message must be a str or None, not {type(value).__name__}')
        self._exit_status_message = value
