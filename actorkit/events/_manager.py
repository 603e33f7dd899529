"""The event machinery of one Actor run: sources feed one manager, which feeds the listeners.

A source (the local SYSTEM_INFO sampler now, the platform websocket reader later) calls
:meth:`EventManager.deliver` from its own thread. The manager applies the rules that do not
depend on where an event came from: the periodic PERSIST_STATE timer, PERSIST_STATE with
``is_migrating=True`` exactly once on MIGRATING, PERSIST_STATE on ABORTING, and the final
PERSIST_STATE and EXIT at shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from actorkit import _process
from actorkit._threads import Deadline, Ticker, join_all
from actorkit.events._dispatch import Dispatcher, Listener
from actorkit.events._models import (
    PAYLOAD_TYPES,
    Event,
    EventData,
    ExitData,
    PersistStateData,
)
from actorkit.events._system_info import SystemInfoSampler

_log = logging.getLogger('actorkit.events')

Deliver = Callable[[Event, EventData], object]


class EventSource(Protocol):
    """Something that produces events on a thread of its own."""

    def start(self, deliver: Deliver) -> None:
        """Start producing events, handing each to ``deliver``."""
        ...

    def signal_stop(self) -> None:
        """Ask the source to stop, without waiting."""
        ...

    def threads(self) -> list[threading.Thread]:
        """The threads to join after :meth:`signal_stop`."""
        ...


class LocalSystemInfoSource:
    """Emits SYSTEM_INFO every interval, sampled from psutil (off the platform only)."""

    def __init__(self, interval: float, max_used_cpu_ratio: float) -> None:
        self._interval = interval
        self._sampler = SystemInfoSampler(max_used_cpu_ratio)
        self._ticker: Ticker | None = None

    def start(self, deliver: Deliver) -> None:
        def tick() -> None:
            deliver(Event.SYSTEM_INFO, self._sampler.sample())

        # The first CPU reading is taken shortly after start, on this thread, so that a run
        # that ends at once never pays for importing psutil.
        self._ticker = Ticker(
            'system-info',
            self._interval,
            tick,
            first_delay=min(0.1, self._interval),
            on_start=self._sampler.prime,
        )
        self._ticker.start()

    def signal_stop(self) -> None:
        if self._ticker is not None:
            self._ticker.signal_stop()

    def threads(self) -> list[threading.Thread]:
        thread = self._ticker.thread if self._ticker else None
        return [thread] if thread is not None else []


class EventManager:
    """Routes events from sources to listeners, for one Actor."""

    def __init__(self) -> None:
        self._dispatcher = Dispatcher()
        self._lock = threading.Lock()
        self._sources: list[EventSource] = []
        self._persist_ticker: Ticker | None = None
        self._migrated = False
        self._interrupt_on_abort = False
        self._running = False

    @property
    def dispatcher(self) -> Dispatcher:
        """The listener registry."""
        return self._dispatcher

    # -- the official SDK's EventManager calls -----------------------------------------------

    @property
    def active(self) -> bool:
        """Whether a run is going (events are delivered to listeners)."""
        return self._running

    def on(self, *, event: Event | str, listener: Listener) -> None:
        """Add a listener of ``event`` (as ``actor.on``).

        Args:
            event: The event, e.g. ``Event.PERSIST_STATE``.
            listener: The function (or coroutine function) to call, with no argument or one.
        """
        self._dispatcher.on(Event.parse(event), listener)

    def off(self, *, event: Event | str, listener: Listener | None = None) -> None:
        """Remove one listener of ``event``, or every one when ``listener`` is ``None``."""
        self._dispatcher.off(Event.parse(event), listener)

    def emit(self, *, event: Event | str, event_data: EventData) -> None:
        """Deliver an event to the listeners, with the rules of a platform event.

        Args:
            event: The event.
            event_data: Its payload, of the event's type (e.g. ``PersistStateData``).

        Raises:
            TypeError: ``event_data`` is not the payload type of ``event``.
        """
        self.deliver(Event.parse(event), event_data)

    def wait_for_all_listeners_to_complete(
        self, *, timeout: float | timedelta | None = None
    ) -> None:
        """Wait until every listener call scheduled so far has finished, or the timeout passes.

        Args:
            timeout: Seconds or a timedelta; ``None`` waits as long as it takes.
        """
        if timeout is None:
            seconds = threading.TIMEOUT_MAX
        elif isinstance(timeout, timedelta):
            seconds = timeout.total_seconds()
        else:
            seconds = float(timeout)
        for name in self.wait_idle(Deadline(seconds)):
            _log.warning('event listener %s is still running after the wait', name)

    def start(
        self,
        *,
        persist_state_interval: float,
        sources: list[EventSource],
        interrupt_on_abort: bool,
    ) -> None:
        """Start the periodic PERSIST_STATE timer and the sources."""
        with self._lock:
            self._migrated = False
            self._interrupt_on_abort = interrupt_on_abort
            self._dispatcher.open()
            self._running = True
            self._persist_ticker = Ticker(
                'persist-state',
                persist_state_interval,
                self._periodic_persist,
            )
            self._persist_ticker.start()
            self._sources = list(sources)
        for source in self._sources:
            source.start(self.deliver)

    def _periodic_persist(self) -> None:
        self.deliver(Event.PERSIST_STATE, PersistStateData(is_migrating=False))

    def deliver(self, event: Event, data: EventData) -> int:
        """Take one event from a source; return how many listener calls it scheduled."""
        expected = PAYLOAD_TYPES[event]
        if not isinstance(data, expected):
            raise TypeError(f'{event.name} carries {expected.__name__}, not {type(data).__name__}')
        if event is Event.PERSIST_STATE and isinstance(data, PersistStateData):
            if data.is_migrating:
                # The platform may send its own persistState(isMigrating) besides `migrating`;
                # listeners see it exactly once either way.
                return self._persist_for_migration()
            return self._dispatcher.emit(event, data)
        scheduled = self._dispatcher.emit(event, data)
        if event is Event.MIGRATING:
            scheduled += self._persist_for_migration()
        elif event is Event.ABORTING:
            scheduled += self._dispatcher.emit(
                Event.PERSIST_STATE, PersistStateData(is_migrating=False)
            )
            if self._interrupt_on_abort:
                self._interrupt_main_thread()
        return scheduled

    @staticmethod
    def _interrupt_main_thread() -> None:
        if _process.interrupt_main_thread():
            _log.warning('the run is being aborted: interrupting the main thread')
        else:
            _log.warning(
                'the run is being aborted, but the main thread could not be interrupted: SIGINT '
                'is ignored in this process and actor.init() did not run on the main thread, '
                'so no handler could be installed; stop the work from an ABORTING listener'
            )

    def _persist_for_migration(self) -> int:
        with self._lock:
            if self._migrated:
                return 0
            self._migrated = True
            ticker = self._persist_ticker
        if ticker is not None:
            ticker.signal_stop()
        _log.info('the run is migrating: persisting state, periodic PERSIST_STATE stopped')
        return self._dispatcher.emit(Event.PERSIST_STATE, PersistStateData(is_migrating=True))

    def wait_idle(self, deadline: Deadline) -> list[str]:
        """Wait until every scheduled listener call has finished or the deadline passes."""
        return self._dispatcher.wait_idle(deadline)

    def shutdown(self, *, exit_code: int, status_message: str | None, deadline: Deadline) -> None:
        """Stop the sources, emit the final PERSIST_STATE and EXIT, wait, and join threads."""
        with self._lock:
            if not self._running:
                return
            self._running = False
            ticker, self._persist_ticker = self._persist_ticker, None
            sources, self._sources = self._sources, []
        threads: list[threading.Thread] = []
        if ticker is not None:
            ticker.signal_stop()
            threads.extend([ticker.thread] if ticker.thread else [])
        for source in sources:
            source.signal_stop()
            threads.extend(source.threads())
        join_all(threads, deadline)

        self._dispatcher.emit(Event.PERSIST_STATE, PersistStateData(is_migrating=False))
        self._dispatcher.wait_idle(deadline)
        self._dispatcher.emit(
            Event.EXIT,
            ExitData(
                exit_code=exit_code,
                status_message=status_message,
                timeout=timedelta(seconds=deadline.remaining()),
            ),
        )
        for name in self._dispatcher.wait_idle(deadline):
            _log.warning('event listener %s did not finish before the Actor exited', name)
        self._dispatcher.close(deadline)

    def abandon(self) -> None:
        """Forget the run without stopping anything (its threads do not exist: after fork).

        The listeners go too: they belong to the parent's run (actorkit's own save the
        parent's ``use_state`` values), so a forked child starts with none of them.
        """
        # A thread of the parent may have held a lock at the fork: it would never be released,
        # so nothing of the old run is touched, only dropped.
        self._lock = threading.Lock()
        self._running = False
        self._persist_ticker = None
        self._sources = []
        self._dispatcher = Dispatcher()
