"""Event listeners and the worker threads that run them.

Listeners never run on the thread that produced the event (a timer, the websocket reader):
each call is handed to a small pool of ``actorkit-callback-N`` daemon threads that grows on
demand, so one slow listener delays nothing else. A raising listener is logged with its name,
whatever it raises (``SystemExit`` included), and its worker goes on.

Each registered listener has at most one call running and one waiting: an event that arrives
while both are taken is merged into the waiting call (which then carries the newest payload),
so a listener that never returns holds one worker and nothing else, and the queue stays
bounded. A listener is therefore never run concurrently with itself.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from actorkit._threads import THREAD_PREFIX, Deadline, join_all, start_thread
from actorkit.events._models import Event, EventData, PersistStateData

_log = logging.getLogger('actorkit.events')

Listener = Callable[..., Any]

SLOW_LISTENER_SECONDS = 10.0
"""A listener running longer than this is reported in the log when it finishes."""


def listener_name(callback: Listener) -> str:
    """A readable name for a callback, for log messages."""
    module = getattr(callback, '__module__', None)
    qualname = getattr(callback, '__qualname__', None) or type(callback).__qualname__
    return f'{module}.{qualname}' if module else qualname


def _takes_payload(callback: Listener) -> bool:
    """Whether to call ``callback`` with the payload (one argument) or with none."""
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):
        return True
    positional = [
        parameter
        for parameter in signature.parameters.values()
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    variadic = any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values())
    required = [p for p in positional if p.default is p.empty]
    if len(required) > 1:
        raise TypeError(
            f'event listener {listener_name(callback)} requires {len(required)} arguments; '
            'a listener must take no argument or one (the event data)'
        )
    return bool(positional) or variadic


class _Registration:
    __slots__ = ('callback', 'internal', 'is_async', 'name', 'takes_payload')

    def __init__(self, callback: Listener, *, internal: bool = False) -> None:
        if not callable(callback):
            raise TypeError(f'event listener {callback!r} is not callable; pass a function')
        self.callback = callback
        self.takes_payload = _takes_payload(callback)
        self.is_async = inspect.iscoroutinefunction(callback)
        self.name = listener_name(callback)
        self.internal = internal


class _Call:
    __slots__ = ('data', 'event', 'registration', 'started_at', 'thread')

    def __init__(self, registration: _Registration, event: Event, data: EventData) -> None:
        self.registration = registration
        self.event = event
        self.data = data
        self.started_at = 0.0
        self.thread: threading.Thread | None = None

    def describe(self) -> str:
        return f'{self.registration.name} (listener of {self.event.name})'

    def run(self) -> None:
        registration = self.registration
        args = (self.data,) if registration.takes_payload else ()
        self.thread = threading.current_thread()
        self.started_at = time.monotonic()
        try:
            result = registration.callback(*args)
            if registration.is_async:
                import asyncio  # noqa: PLC0415 (only for async listeners)

                asyncio.run(result)
        except Exception:
            _log.exception('event listener %s raised; later events still run', self.describe())
        except BaseException as exc:  # SystemExit, KeyboardInterrupt, GeneratorExit, ...
            # Raised on a worker thread, it would only end that worker: it cannot end the
            # process or the run from here, so it is reported like any other failure.
            _log.error(
                'event listener %s raised %s, which cannot end the run from a listener (call '
                'actor.exit() instead); later events still run',
                self.describe(),
                type(exc).__name__,
                exc_info=exc,
            )
        elapsed = time.monotonic() - self.started_at
        if elapsed > SLOW_LISTENER_SECONDS:
            _log.warning('event listener %s took %.1f s', self.describe(), elapsed)


def _merge(waiting: EventData, newer: EventData) -> EventData:
    """The payload of a waiting call that a newer event of the same kind is merged into."""
    if isinstance(waiting, PersistStateData) and isinstance(newer, PersistStateData):
        # A migration's save must not turn into an ordinary one.
        return PersistStateData(is_migrating=waiting.is_migrating or newer.is_migrating)
    return newer


CALLBACK_THREAD_PREFIX = f'{THREAD_PREFIX}callback-'
"""The name prefix of the threads that run listeners."""


def in_listener() -> bool:
    """Whether the calling thread is running an event listener."""
    return threading.current_thread().name.startswith(CALLBACK_THREAD_PREFIX)


class CallbackPool:
    """A growable pool of daemon worker threads that run listener calls.

    Per listener (registration) it keeps at most one call queued or running (``_active``) and
    one waiting behind it (``_waiting``); more events are merged into the waiting call.
    """

    def __init__(self, max_workers: int = 32, idle_timeout: float = 30.0) -> None:
        self._max_workers = max_workers
        self._idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._work_ready = threading.Condition(self._lock)
        self._became_idle = threading.Condition(self._lock)
        self._queue: deque[_Call] = deque()
        self._running: set[_Call] = set()
        self._active: dict[_Registration, _Call] = {}
        self._waiting: dict[_Registration, _Call] = {}
        self._merged: dict[_Registration, int] = {}
        self._workers: set[threading.Thread] = set()
        self._idle = 0
        self._closed = False
        self._numbers = itertools.count(1)

    def submit(self, call: _Call) -> None:
        """Run ``call`` on a worker, or after its listener's current call, or merge it."""
        registration = call.registration
        with self._lock:
            if self._closed:
                _log.debug('dropped %s: the event pool is closed', call.describe())
                return
            if registration not in self._active:
                self._active[registration] = call
                self._enqueue(call)
                return
            waiting = self._waiting.get(registration)
            if waiting is None:
                self._waiting[registration] = call
                return
            waiting.data = _merge(waiting.data, call.data)
            merged = self._merged[registration] = self._merged.get(registration, 0) + 1
        if merged == 1:
            _log.warning(
                'event listener %s is still busy with an earlier event and has one more '
                'waiting: further %s events are merged into the waiting call until it returns',
                call.describe(),
                call.event.name,
            )

    def _enqueue(self, call: _Call) -> None:
        # Called with the lock held. actorkit's own listeners (saving use_state) always get a
        # worker, even when user listeners stuck in every other one fill the pool.
        self._queue.append(call)
        self._find_worker(internal=call.registration.internal)

    def _find_worker(self, *, internal: bool) -> None:
        # Called with the lock held: wake an idle worker, or start one if there is room.
        room = len(self._workers) < self._max_workers or internal
        if self._idle < len(self._queue) and room:
            self._workers.add(start_thread(f'callback-{next(self._numbers)}', self._work))
        else:
            self._work_ready.notify()

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                with self._lock:
                    while not self._queue and not self._closed:
                        self._idle += 1
                        woken = self._work_ready.wait(self._idle_timeout)
                        self._idle -= 1
                        if not woken and not self._queue:
                            return
                    if not self._queue:
                        return
                    call = self._queue.popleft()
                    self._running.add(call)
                try:
                    call.run()
                finally:
                    self._finished(call)
        finally:
            with self._lock:
                self._workers.discard(me)
                if self._queue and not self._closed:
                    # Only if this worker died with calls left (it never should).
                    self._find_worker(internal=True)

    def _finished(self, call: _Call) -> None:
        registration = call.registration
        with self._lock:
            self._running.discard(call)
            if self._active.get(registration) is call:
                del self._active[registration]
                following = self._waiting.pop(registration, None)
                if following is not None and not self._closed:
                    # This worker takes it next: no other worker is needed for it.
                    self._active[registration] = following
                    self._queue.append(following)
            self._became_idle.notify_all()

    def wait_idle(self, deadline: Deadline) -> list[str]:
        """Wait until no call is queued or running; return those still pending at the deadline.

        A call running on the waiting thread itself (a listener that calls ``exit()``) is not
        waited for.
        """
        me = threading.current_thread()

        def pending() -> list[_Call]:
            # A call waiting behind one that runs on this very thread cannot start before
            # this thread returns: it is not waited for either.
            mine = {call.registration for call in self._running if call.thread is me}
            running = [call for call in self._running if call.thread is not me]
            waiting = [call for reg, call in self._waiting.items() if reg not in mine]
            return [*running, *self._queue, *waiting]

        with self._lock:
            while pending():
                remaining = deadline.remaining()
                if remaining <= 0:
                    break
                self._became_idle.wait(remaining)
            return [call.describe() for call in pending()]

    def close(self, deadline: Deadline) -> list[threading.Thread]:
        """Stop taking calls, let workers finish, and join them until the deadline."""
        with self._lock:
            self._closed = True
            dropped = [*self._queue, *self._waiting.values()]
            self._queue.clear()
            self._waiting.clear()
            self._work_ready.notify_all()
            workers = list(self._workers)
        for call in dropped:
            _log.warning('event listener %s was not run: the Actor is exiting', call.describe())
        return join_all(workers, deadline)


class Dispatcher:
    """Holds the listeners of each event and hands every emitted event to the pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[Event, list[_Registration]] = {event: [] for event in Event}
        self._pool: CallbackPool | None = None

    def on(self, event: Event, callback: Listener, *, internal: bool = False) -> None:
        """Add a listener; an internal one (actorkit's own) survives ``off(event)``."""
        registration = _Registration(callback, internal=internal)
        with self._lock:
            self._listeners[event].append(registration)

    def off(self, event: Event, callback: Listener | None) -> None:
        with self._lock:
            if callback is None:
                self._listeners[event] = [r for r in self._listeners[event] if r.internal]
            else:
                self._listeners[event] = [
                    r for r in self._listeners[event] if r.callback != callback
                ]

    def clear(self) -> None:
        """Remove every listener of every event."""
        with self._lock:
            for registrations in self._listeners.values():
                registrations.clear()

    def open(self) -> None:
        """Start accepting events (a fresh pool for every run)."""
        with self._lock:
            self._pool = CallbackPool()

    def emit(self, event: Event, data: EventData) -> int:
        """Schedule every listener of ``event``; return how many were scheduled."""
        with self._lock:
            registrations = list(self._listeners[event])
            pool = self._pool
        if pool is None:
            _log.debug('event %s dropped: the Actor is not running', event.name)
            return 0
        for registration in registrations:
            pool.submit(_Call(registration, event, data))
        return len(registrations)

    def wait_idle(self, deadline: Deadline) -> list[str]:
        with self._lock:
            pool = self._pool
        return [] if pool is None else pool.wait_idle(deadline)

    def close(self, deadline: Deadline) -> list[threading.Thread]:
        with self._lock:
            pool, self._pool = self._pool, None
        return [] if pool is None else pool.close(deadline)
