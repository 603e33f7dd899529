"""The Actor: one run's lifecycle (init, ``with actor:``, ``main``), configuration and state.

:class:`Actor` is composed of one mixin per concern, each in its module: ``_actor_exit``
(exit, fail and the process's own endings), ``_actor_events``, ``_status`` (status
messages), ``_progress``, ``_actor_storage``, ``_actor_charging``, ``_actor_platform`` (the
environment, API clients and proxies), ``_actor_runs`` (other runs) and ``_actor_this_run``
(metamorph, reboot, webhooks of this run).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from actorkit import _process
from actorkit._actor_charging import ActorChargingMethods
from actorkit._actor_events import ActorEventMethods
from actorkit._actor_exit import EXIT_CODE_USER_FUNCTION_THREW, ActorExitMethods
from actorkit._actor_platform import ActorPlatformMethods
from actorkit._actor_runs import ActorRunMethods
from actorkit._actor_storage import ActorStorageMethods
from actorkit._config import Configuration
from actorkit._errors import ActorStateError
from actorkit._logging import configure_logging, logger
from actorkit._progress import ActorProgressMethods
from actorkit._status import (
    ActorStatusMethods,
    StatusMessages,
    platform_publisher,
)
from actorkit._storage_manager import StorageManager
from actorkit._threads import to_seconds
from actorkit._version import __version__
from actorkit.events._manager import EventManager, EventSource, LocalSystemInfoSource
from actorkit.events._models import Event

if TYPE_CHECKING:
    from actorkit.client import ApifyClient

_T = TypeVar('_T')

_LifecyclePhase = Literal['idle', 'running', 'exiting']


def _exit_code_of(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    return 1


class Actor(
    ActorExitMethods,
    ActorChargingMethods,
    ActorStorageMethods,
    ActorEventMethods,
    ActorStatusMethods,
    ActorRunMethods,
    ActorPlatformMethods,
    ActorProgressMethods,
):
    """An Actor run: the lifecycle, events, status and (later) storages of one program.

    ``actorkit.actor`` is the default instance; build others with ``Actor(...)`` for tests and
    advanced use. Every method is blocking and safe to call from any thread.

    Re-initialization policy:

    * ``init()`` after ``exit()`` starts a fresh run in the same process (reading the
      configuration again), so a management command or a test can run the Actor twice.
    * ``init()`` while a run is going raises :class:`ActorStateError` in a script; under
      IPython/Jupyter it finishes the previous run first, so re-running a cell just works.
    * Listeners registered with :meth:`on` belong to the run they were registered for (or the
      next one, when registered before ``init()``); ``exit()`` removes them.
    * A child process forked during a run has no run and none of the run's listeners; it may
      ``init()`` a run of its own, which never saves the parent's ``use_state`` values.
    * If the script ends with an uncaught exception while the run is going, the run ends
      with exit code 91 (or :attr:`exit_code`, if set), and so does the process.

    Args:
        config: The configuration to use; by default it is read from the environment at each
            ``init()`` (and on first access of :attr:`config`).
        exit_process: Whether ``exit()`` ends the process with the exit code. By default it does
            for a plain script exiting from its main thread, and never under IPython/Jupyter, in
            another thread or under pytest. ``ACTORKIT_EXIT_PROCESS`` overrides the default; this
            argument overrides both. Under IPython the process is never ended.
        event_listeners_timeout: How long ``exit()`` waits for event listeners (seconds or a
            timedelta); one deadline shared by the final PERSIST_STATE and EXIT listeners.
        configure_logging: ``None`` (default) adds a console handler to the ``actorkit`` logger
            at ``init()`` only if the root logger has none; ``True`` adds it anyway; ``False``
            never touches logging.
        interrupt_on_abort: Raise ``KeyboardInterrupt`` in the main thread when the platform
            aborts the run gracefully (after PERSIST_STATE listeners are scheduled). Defaults to
            ``ACTORKIT_INTERRUPT_ON_ABORT`` (off).
        cleanup_timeout: How long ``exit()`` may take after the listeners, to release the run's
            resources (seconds or a timedelta; 30 s as in the official SDK).
        configuration: The official SDK's name of ``config``.
    """

    def __init__(
        self,
        config: Configuration | None = None,
        *,
        exit_process: bool | None = None,
        event_listeners_timeout: float | timedelta = 5.0,
        configure_logging: bool | None = None,
        interrupt_on_abort: bool | None = None,
        cleanup_timeout: float | timedelta = 30.0,
        configuration: Configuration | None = None,
    ) -> None:
        if config is not None and configuration is not None:
            raise TypeError('pass the configuration as config or as configuration, not both')
        config = config if config is not None else configuration
        self._explicit_config = config
        self._config = config
        self._config_lock = threading.Lock()
        self._cleanup_timeout = to_seconds(cleanup_timeout)
        self._exit_process = exit_process
        self._event_listeners_timeout = to_seconds(event_listeners_timeout)
        self._configure_logging = configure_logging
        self._interrupt_on_abort = interrupt_on_abort
        self._lifecycle_lock = threading.RLock()
        self._state: _LifecyclePhase = 'idle'
        self._run_pid: int | None = None
        self._stopped = threading.Event()
        self._stopped.set()
        self._events = EventManager()
        self._status = StatusMessages()
        self._exit_code: int | None = None
        self._exiting_thread: threading.Thread | None = None
        self._storages: StorageManager | None = None
        self._exit_wait_bound = self._event_listeners_timeout + 1.0
        self._exit_status_message: str | None = None
        self._reboot_lock = threading.Lock()
        self._rebooting = False
        self._client_lock = threading.Lock()
        self._client: ApifyClient | None = None

    def __repr__(self) -> str:
        return f'<actorkit.Actor {self._state} pid={self._run_pid}>'

    # -- configuration -------------------------------------------------------------------------

    @property
    def config(self) -> Configuration:
        """The configuration of the current (or next) run."""
        # Not under the lifecycle lock: listeners read it while a run exits, and the exit of
        # the previous run may be waiting for them (init() in a notebook).
        config = self._config
        if config is None:
            with self._config_lock:
                if self._config is None:
                    self._config = Configuration.from_env()
                config = self._config
        return config

    @property
    def configuration(self) -> Configuration:
        """The official SDK's name of :attr:`config`."""
        return self.config

    @property
    def log(self) -> logging.Logger:
        """The ``actorkit`` logger."""
        return logger

    @property
    def is_running(self) -> bool:
        """Whether ``init()`` was called and the run has not exited yet."""
        return self._state == 'running'

    @property
    def exit_code(self) -> int | None:
        """The exit code the run will end with, if one was set; ``exit()`` uses it by default."""
        return self._exit_code

    @exit_code.setter
    def exit_code(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f'exit_code must be an int or None, not {type(value).__name__}')
        self._exit_code = value

    # -- lifecycle -----------------------------------------------------------------------------

    def init(self) -> None:
        """Start the run: read the configuration, set up logging, start the event threads.

        Raises:
            ActorStateError: The Actor is already running (outside IPython).
            ConfigurationError: An environment variable is invalid; nothing was started.
        """
        if self._running_here() and _process.in_ipython():
            # Without the lifecycle lock: listeners of that run may need it (actor.config).
            logger.info('init() called again in a notebook: finishing the previous run')
            self._finish(exit_code=0, status_message=None, exception=None, timeout=None)
        with self._lifecycle_lock:
            if self._running_here():
                raise ActorStateError(
                    'actor.init() was called while the Actor is already running: call '
                    'actor.exit() first, or use one `with actor:` block per run'
                )
            config = self._explicit_config or Configuration.from_env()
            self._config = config
            if self._configure_logging is not False:
                configure_logging(config.log_level, force=bool(self._configure_logging))
            # At home this connects to the events websocket, and fails init() if it cannot,
            # before anything else of the run is started.
            sources = self._event_sources(config)
            interrupt = (
                config.interrupt_on_abort
                if self._interrupt_on_abort is None
                else self._interrupt_on_abort
            )
            self._exit_code = None
            self._reset_run_operations()
            self._status.start_run(platform_publisher(config))
            self._stopped.clear()
            self._storages = StorageManager(config)
            self._storages.push_gate = self._charge_default_push
            self._events.dispatcher.on(
                Event.PERSIST_STATE, self._storages.persist_states, internal=True
            )
            if interrupt and not _process.prepare_abort_interrupt():
                logger.warning(
                    'interrupt_on_abort is on, but SIGINT is ignored in this process and '
                    'actor.init() is not running on the main thread, so no handler can be '
                    'installed: an abort will not interrupt the main thread'
                )
            self._events.start(
                persist_state_interval=config.persist_state_interval_millis / 1000,
                sources=sources,
                interrupt_on_abort=interrupt,
            )
            self._state = 'running'
            self._run_pid = os.getpid()
        _process.actor_started(self)
        logger.info(
            'Initializing Actor (actorkit %s, %s)',
            __version__,
            'on the Apify platform' if config.is_at_home else 'local run',
        )

    def _running_here(self) -> bool:
        return self._state != 'idle' and self._run_pid == os.getpid()

    def _event_sources(self, config: Configuration) -> list[EventSource]:
        if config.is_at_home:
            # As the official SDK: at home SYSTEM_INFO comes only from the platform, while the
            # periodic PERSIST_STATE timer runs everywhere (the EventManager's own).
            if not config.events_websocket_url:
                logger.debug('ACTOR_EVENTS_WEBSOCKET_URL is not set: no platform events')
                return []
            from actorkit.events._websocket import PlatformEventSource  # noqa: PLC0415

            source = PlatformEventSource(
                config.events_websocket_url,
                dedicated_cpus=config.dedicated_cpus or 1.0,
                ping_interval=config.events_ping_interval_secs,
                ping_timeout=config.events_ping_timeout_secs,
                exit_timeout=self._event_listeners_timeout,
            )
            source.connect()
            return [source]
        local: list[EventSource] = [
            LocalSystemInfoSource(
                config.system_info_interval_millis / 1000, config.max_used_cpu_ratio
            )
        ]
        if os.environ.get('ACTORKIT_REHEARSAL_EVENTS_URL'):
            # `actorkit run --migrate-after/--abort-after`: platform events on local storage.
            from actorkit.events._rehearsal import rehearsal_source  # noqa: PLC0415

            rehearsal = rehearsal_source(
                os.environ, self._events.wait_idle, self._event_listeners_timeout
            )
            if rehearsal is not None:
                local.append(rehearsal)
        return local

    def __enter__(self) -> Actor:
        self.init()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.exit()
        elif isinstance(exc, SystemExit):
            # SystemExit keeps its code and goes on ending the process.
            self._finish(
                exit_code=_exit_code_of(exc), status_message=None, exception=None, timeout=None
            )
        elif isinstance(exc, Exception):
            code = self._exit_code or EXIT_CODE_USER_FUNCTION_THREW
            self.fail(exit_code=code, exception=exc)
        else:
            # KeyboardInterrupt and other BaseExceptions: clean up, then let them propagate.
            self._finish(exit_code=130, status_message=None, exception=None, timeout=None)

    def main(self, function: Callable[..., _T]) -> Callable[..., _T]:
        """Decorate a function to run as the Actor's main: init, call it, exit with its outcome.

        An exception escaping the function is logged and gives exit code 91; ``SystemExit``
        keeps its code. Async functions are run with ``asyncio.run``.
        """

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> _T:
            with self:
                if inspect.iscoroutinefunction(function):
                    import asyncio  # noqa: PLC0415

                    result: _T = asyncio.run(function(*args, **kwargs))
                    return result
                return function(*args, **kwargs)

        return run

    # -- process hooks (the exit ones are in _actor_exit) -----------------------------------------

    def _forget_after_fork(self) -> None:
        self._lifecycle_lock = threading.RLock()
        self._config_lock = threading.Lock()
        self._reboot_lock = threading.Lock()
        self._rebooting = False
        self._status.forget_after_fork()
        self._state = 'idle'
        self._run_pid = None
        self._stopped = threading.Event()
        self._stopped.set()
        self._storages = None
        self._client_lock = threading.Lock()
        self._client = None  # the parent's connections are not this process's to use or close
        self._events.abandon()

    # -- storages --------------------------------------------------------------------------------

    def _storage(self) -> StorageManager:
        storages = self._storages
        if storages is None or self._state == 'idle':
            raise ActorStateError(
                'the Actor is not running: call actor.init() (or use `with actor:`) before '
                'using storages'
            )
        return storages
