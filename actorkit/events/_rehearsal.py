"""The event source of a run that ``actorkit run --migrate-after/--abort-after`` rehearses.

The command serves the platform's events websocket on 127.0.0.1 and starts the script with
:data:`REHEARSAL_EVENTS_ENV` (the websocket URL) and :data:`REHEARSAL_ACK_FD_ENV` (the write
end of a pipe) while storage stays local. The run then reads MIGRATING and ABORTING through
the same websocket reader and event rules as at home; after each of them, once the listeners
it scheduled (PERSIST_STATE with ``is_migrating=True`` first) have finished, one JSON line on
the pipe tells the command that it may kill the process, as the platform does.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable

from actorkit._threads import Deadline, start_thread
from actorkit.events._models import Event, EventData

_log = logging.getLogger('actorkit.events')

REHEARSAL_EVENTS_ENV = 'ACTORKIT_REHEARSAL_EVENTS_URL'
"""The websocket URL of the rehearsing command's events server."""

REHEARSAL_ACK_FD_ENV = 'ACTORKIT_REHEARSAL_ACK_FD'
"""The file descriptor to write a line on when the listeners of an event have finished."""

_ACKED = (Event.MIGRATING, Event.ABORTING)

Deliver = Callable[[Event, EventData], object]
WaitIdle = Callable[[Deadline], list[str]]


class RehearsalEventSource:
    """The platform's websocket source, acknowledging MIGRATING and ABORTING on a pipe.

    Args:
        url: The rehearsal events URL.
        ack_fd: Where to write the acknowledgements (``None``: nowhere).
        wait_idle: Waits for the scheduled listeners (the event manager's).
        listeners_timeout: How long an acknowledgement waits for the listeners.
    """

    def __init__(
        self, url: str, ack_fd: int | None, wait_idle: WaitIdle, listeners_timeout: float
    ) -> None:
        from actorkit.events._websocket import PlatformEventSource  # noqa: PLC0415

        self._source = PlatformEventSource(url, exit_timeout=listeners_timeout)
        self._ack_fd = ack_fd
        self._wait_idle = wait_idle
        self._timeout = listeners_timeout
        self._lock = threading.Lock()
        self._ack_threads: list[threading.Thread] = []

    def connect(self) -> None:
        """Open the connection (``init()`` fails when it fails, as at home)."""
        self._source.connect()

    def start(self, deliver: Deliver) -> None:
        """Start reading events, acknowledging MIGRATING and ABORTING."""

        def deliver_and_ack(event: Event, data: EventData) -> object:
            scheduled = deliver(event, data)
            if event in _ACKED:
                thread = start_thread('rehearsal-ack', lambda: self._ack(event))
                with self._lock:
                    self._ack_threads.append(thread)
            return scheduled

        self._source.start(deliver_and_ack)

    def signal_stop(self) -> None:
        """Stop reading."""
        self._source.signal_stop()

    def threads(self) -> list[threading.Thread]:
        """The reader and the acknowledging threads."""
        with self._lock:
            acks = list(self._ack_threads)
        return [*self._source.threads(), *acks]

    def _ack(self, event: Event) -> None:
        pending = self._wait_idle(Deadline(self._timeout))
        if self._ack_fd is None:
            return
        line = json.dumps({'event': event.value, 'pid': os.getpid(), 'pending': pending})
        try:
            os.write(self._ack_fd, line.encode() + b'\n')
        except OSError as exc:
            _log.debug('the rehearsal acknowledgement could not be written: %s', exc)


def rehearsal_source(
    environ: dict[str, str] | os._Environ[str], wait_idle: WaitIdle, listeners_timeout: float
) -> RehearsalEventSource | None:
    """The rehearsal source when the environment asks for one, connected; else ``None``."""
    url = environ.get(REHEARSAL_EVENTS_ENV)
    if not url:
        return None
    raw_fd = environ.get(REHEARSAL_ACK_FD_ENV, '')
    try:
        ack_fd: int | None = int(raw_fd)
    except ValueError:
        _log.warning(
            '%s=%r is not a file descriptor: no acknowledgements', REHEARSAL_ACK_FD_ENV, raw_fd
        )
        ack_fd = None
    source = RehearsalEventSource(url, ack_fd, wait_idle, listeners_timeout)
    source.connect()
    return source
