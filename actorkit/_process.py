"""Process-wide hooks (atexit, the excepthook, SIGTERM, fork) and the process-ending policy.

The hooks are installed once per process, the first time an Actor starts, and act on every
Actor still running in that process. Each hook chains what was there before it.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Protocol

_log = logging.getLogger('actorkit.lifecycle')


class RunningActor(Protocol):
    """What the hooks need of an Actor."""

    def _finish_at_interpreter_exit(self, uncaught: BaseException | None) -> None: ...

    def _finish_on_signal(self, signum: int) -> None: ...

    def _forget_after_fork(self) -> None: ...

    @property
    def _exiting_thread(self) -> threading.Thread | None: ...


_lock = threading.Lock()
_running: list[RunningActor] = []
_installed_pid: int | None = None
_uncaught: list[BaseException] = []
_previous_sigterm: Any = None
_our_sigterm_installed = False


def actor_started(actor: RunningActor) -> None:
    """Record a started Actor and install the hooks if this process has none yet."""
    global _installed_pid
    with _lock:
        if actor not in _running:
            _running.append(actor)
        if _installed_pid != os.getpid():
            _installed_pid = os.getpid()
            atexit.register(_at_exit)
            _chain_excepthook()
            if hasattr(os, 'register_at_fork') and not _fork_hook_registered:
                _register_fork_hook()
    _install_sigterm_handler()


def actor_stopped(actor: RunningActor) -> None:
    """Forget a stopped Actor; restore the previous SIGTERM handler when none is left."""
    with _lock:
        if actor in _running:
            _running.remove(actor)
        last = not _running
    if last:
        _restore_sigterm_handler()


def running_actors() -> list[RunningActor]:
    """The Actors started in this process and not yet stopped."""
    with _lock:
        return list(_running)


def in_ipython() -> bool:
    """Whether the code runs under IPython or Jupyter (never ends the process there)."""
    if 'IPython' not in sys.modules:
        return False
    try:
        from IPython import get_ipython  # noqa: PLC0415
    except ImportError:
        return False
    return get_ipython() is not None


def under_pytest() -> bool:
    """Whether the code runs under pytest (the process is not ended by default there)."""
    return 'pytest' in sys.modules or '_pytest' in sys.modules


def should_end_process(explicit: bool | None, configured: bool | None) -> bool:
    """Whether ``exit()`` should end the process, called on the thread that exits.

    Args:
        explicit: The Actor's ``exit_process`` argument, if given.
        configured: ``ACTORKIT_EXIT_PROCESS`` from the configuration, if set.

    Returns:
        Never under IPython; else ``explicit``, else ``configured``; else not under pytest,
        and otherwise only on the main thread.
    """
    if in_ipython():
        return False
    if explicit is not None:
        return explicit
    if configured is not None:
        return configured
    if under_pytest():
        return False
    return threading.current_thread() is threading.main_thread()


def end_process(exit_code: int) -> None:
    """End the process with ``exit_code`` from the current thread.

    On the main thread it raises ``SystemExit``, so ``finally`` blocks and atexit hooks run.
    From another thread ``SystemExit`` would end only that thread: logging and the standard
    streams are flushed and the process leaves at once.
    """
    if threading.current_thread() is threading.main_thread():
        sys.exit(exit_code)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)


def _chain_excepthook() -> None:
    previous = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        _uncaught.append(exc)
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook


def _at_exit() -> None:
    if _installed_pid != os.getpid():
        return
    # sys.last_exc/last_value are set by the interpreter before it calls the excepthook, so
    # they also catch an uncaught exception when the application replaced our hook.
    uncaught = _uncaught[-1] if _uncaught else None
    uncaught = uncaught or getattr(sys, 'last_exc', None) or getattr(sys, 'last_value', None)
    for actor in running_actors():
        try:
            actor._finish_at_interpreter_exit(uncaught)
        except Exception:
            _log.exception('the exit sequence at interpreter exit failed')


_fork_hook_registered = False


def _register_fork_hook() -> None:
    global _fork_hook_registered
    os.register_at_fork(after_in_child=_after_fork_in_child)
    _fork_hook_registered = True


def _after_fork_in_child() -> None:
    # Threads do not survive fork and the locks they held may never be released: drop
    # everything without taking locks, so the child neither runs nor waits on the parent's run.
    global _lock, _installed_pid
    actors = list(_running)
    _running.clear()
    _lock = threading.Lock()
    _installed_pid = None
    for actor in actors:
        actor._forget_after_fork()
    if _our_sigterm_installed and threading.current_thread() is threading.main_thread():
        _restore_sigterm_handler()


def _install_sigterm_handler() -> None:
    global _previous_sigterm, _our_sigterm_installed
    if threading.current_thread() is not threading.main_thread() or _our_sigterm_installed:
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN:
        return
    _previous_sigterm = previous
    signal.signal(signal.SIGTERM, _on_sigterm)
    _our_sigterm_installed = True


def _restore_sigterm_handler() -> None:
    global _our_sigterm_installed
    if not _our_sigterm_installed:
        return
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(
            signal.SIGTERM, _previous_sigterm if _previous_sigterm is not None else signal.SIG_DFL
        )
    _our_sigterm_installed = False


_deferred_signal: tuple[int, FrameType | None] | None = None


def raise_deferred_signal() -> None:
    """Act on a SIGTERM deferred while this thread ran an exit sequence: chain, then exit."""
    global _deferred_signal
    deferred, _deferred_signal = _deferred_signal, None
    if deferred is not None and threading.current_thread() is threading.main_thread():
        _chain_previous_and_exit(*deferred)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # The handler may have stopped the main thread inside `with _lock:` (or any other lock):
    # copy the list without the lock, and leave the exit sequence to a thread of its own
    # (see Actor._finish_on_signal), so nothing here waits on a lock the main thread holds.
    actors = list(_running)
    if any(actor._exiting_thread is threading.current_thread() for actor in actors):
        # The main thread is in the middle of an exit sequence: raising here would cut it
        # short. It raises SystemExit(143) itself when the sequence is done.
        global _deferred_signal
        _deferred_signal = (signum, frame)
        return
    for actor in actors:
        try:
            actor._finish_on_signal(signum)
        except Exception:
            _log.exception('the exit sequence on SIGTERM failed')
    _chain_previous_and_exit(signum, frame)


def _chain_previous_and_exit(signum: int, frame: FrameType | None) -> None:
    previous = _previous_sigterm
    if callable(previous):
        handler: Callable[[int, FrameType | None], Any] = previous
        handler(signum, frame)
    raise SystemExit(128 + signum)
