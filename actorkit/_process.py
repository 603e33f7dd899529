"""Process-wide hooks (atexit, the excepthook, SIGTERM, fork) and the process-ending policy.

The hooks are installed once per process, the first time an Actor starts, and act on every
Actor still running in that process. Each hook chains what was there before it.
"""

from __future__ import annotations

import atexit
import contextlib
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

    def _finish_at_interpreter_exit(self, uncaught: BaseException | None) -> int | None: ...

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
    _exit_now(exit_code)


# -- interrupting the main thread when the run is aborted ----------------------------------------

_sigint_guard_installed = False
_sigint_guard_previous: Any = None
_abort_interrupt_requested = False


def prepare_abort_interrupt() -> bool:
    """Make sure an abort can interrupt the main thread; return whether it can.

    A process started with SIGINT ignored (a background job, ``nohup``) cannot be interrupted
    by a SIGINT sent to its main thread. On the main thread this installs a handler that
    raises ``KeyboardInterrupt`` only for an abort and otherwise does what the previous
    disposition did (ignore SIGINT, or end the process by it). Child processes started while
    it is installed get SIGINT's default disposition, not "ignored". It is removed by
    :func:`release_abort_interrupt`.

    Returns:
        Whether :func:`interrupt_main_thread` will be able to interrupt the main thread.
    """
    global _sigint_guard_installed, _sigint_guard_previous
    current = signal.getsignal(signal.SIGINT)
    if callable(current):
        return True  # Python's own handler (KeyboardInterrupt) or the application's
    if threading.current_thread() is not threading.main_thread():
        return False  # only the main thread may install a signal handler
    _sigint_guard_previous = current
    signal.signal(signal.SIGINT, _sigint_guard)
    _sigint_guard_installed = True
    return True


def release_abort_interrupt() -> None:
    """Restore the SIGINT disposition :func:`prepare_abort_interrupt` replaced (main thread)."""
    global _sigint_guard_installed, _abort_interrupt_requested
    if not _sigint_guard_installed or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is _sigint_guard:
        previous = _sigint_guard_previous
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    _sigint_guard_installed = False
    _abort_interrupt_requested = False


def _sigint_guard(signum: int, frame: FrameType | None) -> None:
    global _abort_interrupt_requested
    if _abort_interrupt_requested:
        _abort_interrupt_requested = False
        raise KeyboardInterrupt
    if _sigint_guard_previous is signal.SIG_DFL:
        # A SIGINT from elsewhere does what it did before actorkit's handler: end the process.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    # Otherwise SIGINT was ignored, and still is.


def interrupt_main_thread() -> bool:
    """Raise ``KeyboardInterrupt`` in the main thread, waking it from a blocking wait.

    A SIGINT sent to the main thread interrupts the system call it is blocked in (an
    ``Event.wait``, a ``sleep``, a socket read), which ``_thread.interrupt_main`` would not.

    Returns:
        ``False`` when it cannot: SIGINT is ignored (or left to the operating system) and
        :func:`prepare_abort_interrupt` could not install a handler.
    """
    global _abort_interrupt_requested
    main = threading.main_thread()
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler) or main.ident is None or not main.is_alive():
        return False
    if handler is _sigint_guard:
        _abort_interrupt_requested = True
    signal.pthread_kill(main.ident, signal.SIGINT)
    return True


# -- hooks ---------------------------------------------------------------------------------------


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
    codes: list[int] = []
    for actor in running_actors():
        try:
            code = actor._finish_at_interpreter_exit(uncaught)
        except Exception:
            _log.exception('the exit sequence at interpreter exit failed')
        else:
            if code is not None:
                codes.append(code)
    interactive = hasattr(sys, 'ps1') or in_ipython()  # a REPL's errors were handled there
    if isinstance(uncaught, Exception) and codes and codes[0] != 1 and not interactive:
        # Python ends a script whose exception went uncaught with 1, while the run ended (and
        # its EXIT event said) 91 or the code the script set: end with that one, as the official
        # SDK does. Only os._exit can change the code now; atexit hooks registered before
        # actorkit's (they would run after it) are skipped, so logging is flushed here.
        _log.debug('ending the process with exit code %d after an uncaught exception', codes[0])
        _exit_now(codes[0])


def _exit_now(code: int) -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)


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
