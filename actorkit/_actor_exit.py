"""How a run ends: ``exit()``, ``fail()``, the exit sequence, and the process's own endings.

The exit sequence runs once per run, on the thread that claims it: the terminal status
message, the final PERSIST_STATE and EXIT listeners under one deadline, then the clean-up
(charging, the API client, storages) under another. Besides ``exit()``, ``fail()`` and
``with actor:``, the process ends a run itself (:mod:`actorkit._process` calls the hooks
here): at interpreter exit when the script left it running, and on SIGTERM.
"""

from __future__ import annotations

import functools
import os
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from actorkit import _process
from actorkit._logging import logger
from actorkit._status import terminal_message
from actorkit._threads import THREAD_PREFIX, Deadline, run_bounded, to_seconds

if TYPE_CHECKING:
    from actorkit._actor import _LifecyclePhase
    from actorkit._config import Configuration
    from actorkit._status import StatusMessages
    from actorkit._storage_manager import StorageManager
    from actorkit.client import ApifyClient
    from actorkit.events._manager import EventManager

EXIT_CODE_USER_FUNCTION_THREW = 91
"""The exit code of a run whose main code raised an exception (as the official SDK uses)."""


class ActorExitMethods:
    """``exit`` and ``fail``: :class:`~actorkit.Actor` inherits them."""

    if TYPE_CHECKING:  # provided by Actor
        _config: Configuration | None
        _exit_process: bool | None
        _event_listeners_timeout: float
        _cleanup_timeout: float
        _lifecycle_lock: threading.RLock
        _state: _LifecyclePhase
        _run_pid: int | None
        _stopped: threading.Event
        _events: EventManager
        _status: StatusMessages
        _exit_code: int | None
        _exiting_thread: threading.Thread | None
        _storages: StorageManager | None
        _exit_wait_bound: float
        _exit_status_message: str | None
        _client_lock: threading.Lock
        _client: ApifyClient | None

        def set_status_message(
            self,
            status_message: str | None = None,
            *,
            is_terminal: bool | None = None,
            message: str | None = None,
        ) -> None: ...

        def _forget_after_fork(self) -> None: ...

        def _close_charging(self) -> None: ...

    def exit(
        self,
        status_message: str | None = None,
        exit_code: int | None = None,
        *,
        event_listeners_timeout: float | timedelta | None = None,
        cleanup_timeout: float | timedelta | None = None,
    ) -> None:
        """End the run: final PERSIST_STATE and EXIT events, stop threads, maybe end the process.

        Calling it again, or when the Actor is not running, does nothing. The keywords are the
        official SDK's; the positional order (``status_message``, ``exit_code``) is actorkit's.

        Args:
            status_message: The terminal status message of the run; by default the one set
                with :attr:`status_message`, if any.
            exit_code: The exit code; by default :attr:`exit_code` if set, else 0.
            event_listeners_timeout: Overrides the Actor's listener timeout for this exit.
            cleanup_timeout: Overrides the Actor's cleanup timeout for this exit.
        """
        code = exit_code if exit_code is not None else (self._exit_code or 0)
        finished = self._finish(
            exit_code=code,
            status_message=status_message,
            exception=None,
            timeout=event_listeners_timeout,
            cleanup_timeout=cleanup_timeout,
        )
        if finished:
            self._end_process(code)

    def fail(
        self,
        status_message: str | None = None,
        exit_code: int = 1,
        exception: BaseException | None = None,
        *,
        event_listeners_timeout: float | timedelta | None = None,
        cleanup_timeout: float | timedelta | None = None,
    ) -> None:
        """End the run as failed: like :meth:`exit` with a non-zero code, logging ``exception``.

        Args:
            status_message: The terminal status message (say why it failed and what to do).
            exit_code: The exit code (1 by default).
            exception: The exception that made the run fail; it is logged with its traceback.
            event_listeners_timeout: Overrides the Actor's listener timeout for this exit.
            cleanup_timeout: Overrides the Actor's cleanup timeout for this exit.
        """
        finished = self._finish(
            exit_code=exit_code,
            status_message=status_message,
            exception=exception,
            timeout=event_listeners_timeout,
            cleanup_timeout=cleanup_timeout,
        )
        if finished:
            self._end_process(exit_code)

    def _finish(
        self,
        *,
        exit_code: int,
        status_message: str | None,
        exception: BaseException | None,
        timeout: float | timedelta | None,
        cleanup_timeout: float | timedelta | None = None,
    ) -> bool:
        """Run the exit sequence once; return whether this call ran it.

        A second caller while the sequence runs waits for it to end (unless it is the thread
        running it, or a listener that the sequence itself is waiting for).
        """
        me = threading.current_thread()
        claimed = self._claim_exit(me, exit_code)
        if claimed is None:
            return False
        if not claimed:
            if me is not self._exiting_thread and not me.name.startswith('actorkit-'):
                self._stopped.wait(self._exit_wait_bound)
            return False
        self._run_exit_sequence(
            exit_code=exit_code,
            status_message=status_message,
            exception=exception,
            timeout=timeout,
            cleanup_timeout=cleanup_timeout,
        )
        _process.raise_deferred_signal()
        return True

    def _claim_exit(self, thread: threading.Thread, exit_code: int) -> bool | None:
        """Make ``thread`` the one to run the exit sequence.

        Returns:
            ``True`` if it is, ``False`` if another thread already runs it, ``None`` if the
            Actor is not running (in this process).
        """
        with self._lifecycle_lock:
            if self._state == 'idle' or self._run_pid != os.getpid():
                return None
            if self._state == 'exiting':
                return False
            self._state = 'exiting'
            self._exiting_thread = thread
            self._exit_code = exit_code
            return True

    def _run_exit_sequence(
        self,
        *,
        exit_code: int,
        status_message: str | None,
        exception: BaseException | None,
        timeout: float | timedelta | None,
        cleanup_timeout: float | timedelta | None = None,
    ) -> None:
        try:
            if status_message is None:
                status_message = self._exit_status_message
            if exception is not None:
                logger.error('Actor failed with an exception', exc_info=exception)
            logger.info('Exiting Actor (exit code %d)', exit_code)
            at_home = self._config is not None and self._config.is_at_home
            if status_message is None and at_home and not self._status.is_terminal:
                status_message = terminal_message(exit_code)
            if status_message is not None:
                try:
                    self.set_status_message(status_message, is_terminal=True)
                except Exception:
                    logger.exception('sending the terminal status message failed')
            seconds = self._event_listeners_timeout if timeout is None else to_seconds(timeout)
            self._exit_wait_bound = max(self._event_listeners_timeout, seconds) + 1.0
            deadline = Deadline(seconds)
            self._events.shutdown(
                exit_code=exit_code, status_message=status_message, deadline=deadline
            )
            self._events.dispatcher.clear()
            cleanup = self._cleanup_timeout if cleanup_timeout is None else cleanup_timeout
            self._clean_up(Deadline(to_seconds(cleanup)))
        finally:
            with self._lifecycle_lock:
                self._state = 'idle'
                self._exiting_thread = None
                self._exit_status_message = None
            _process.release_abort_interrupt()
            _process.actor_stopped(self)
            self._stopped.set()

    def _clean_up(self, deadline: Deadline) -> None:
        """Release the run's resources (storages, ...) after the listeners, until ``deadline``.

        Each step runs on a thread of its own, joined until the deadline: one that hangs is
        reported and left behind (a daemon), and the exit goes on.
        """
        self._close_charging()
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
        storages = self._storages
        if storages is not None:
            run_bounded('close-storages', storages.close, deadline)

    def _end_process(self, exit_code: int) -> None:
        configured = self._config.exit_process if self._config is not None else None
        if _process.should_end_process(self._exit_process, configured):
            _process.end_process(exit_code)

    # -- process hooks ---------------------------------------------------------------------------

    def _finish_at_interpreter_exit(self, uncaught: BaseException | None) -> int | None:
        """Finish a run the script left running; return its exit code if this call did."""
        if uncaught is None:
            code = self._exit_code or 0
            finished = self._finish(
                exit_code=code, status_message=None, exception=None, timeout=None
            )
            return code if finished else None
        code = (
            130
            if isinstance(uncaught, KeyboardInterrupt)
            else (self._exit_code or EXIT_CODE_USER_FUNCTION_THREW)
        )
        logger.error('the Actor ended with an uncaught %s: %s', type(uncaught).__name__, uncaught)
        finished = self._finish(
            exit_code=code,
            status_message=f'Actor failed: {type(uncaught).__name__}: {uncaught}',
            exception=None,
            timeout=None,
        )
        return code if finished else None

    def _finish_on_signal(self, signum: int) -> None:
        # Called by the signal handler, on the main thread, which may be stopped inside a
        # critical section (a storage lock, the dispatcher's lock) that the exit sequence
        # needs: the sequence runs on a thread of its own, while the handler's SystemExit
        # unwinds the main thread and so releases what it held. __exit__, exit() and the
        # atexit hook then wait for the sequence to end.
        thread = threading.Thread(
            target=functools.partial(
                self._run_exit_sequence,
                exit_code=128 + signum,
                status_message='Actor was terminated by a signal',
                exception=None,
                timeout=None,
            ),
            name=f'{THREAD_PREFIX}exit-on-signal',
            daemon=True,
        )
        if self._claim_exit(thread, 128 + signum):
            thread.start()
