"""One command body run as one Actor run, without ever ending the process.

The frameworks' command runners own the process: they print errors their own way and choose
the exit code. The Actor's lifecycle is wrapped around the body only, and the way it ended is
handed back to the framework by re-raising what the body raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from actorkit._actor_exit import EXIT_CODE_USER_FUNCTION_THREW
from actorkit._logging import logger

if TYPE_CHECKING:
    from actorkit._actor import Actor

_T = TypeVar('_T')

UserError = Callable[[BaseException], 'tuple[int, str] | None']
"""Maps the framework's own "command failed" exception to ``(exit code, message)``, else None."""


def default_actor() -> Actor:
    """The default ``actorkit.actor``."""
    from actorkit import actor  # noqa: PLC0415 (the package imports the integrations lazily)

    return actor


def run_as_actor(
    actor: Actor,
    body: Callable[[], _T],
    *,
    user_error: UserError,
    keep_logging: bool,
    on_crash: Callable[[BaseException, int], None] | None = None,
    on_end: Callable[[int], None] | None = None,
) -> _T:
    """Run ``body`` between ``actor.init()`` and the end of the run; return what it returns.

    When the Actor is already running (a command called from a running Actor), the body runs
    in that run, which is left going.

    Args:
        actor: The Actor whose run it is.
        body: The command's code.
        user_error: Recognises the framework's "command ended" exceptions: for one with a
            non-zero exit code the run fails with that code and the message as its terminal
            status message; one with exit code 0 ends the run as a return would.
        keep_logging: Leave logging to the framework: ``init()`` adds no console handler.
        on_crash: Called with any other exception and the run's exit code (91 unless the
            code set ``actor.exit_code``) after the run ended, before it is re-raised.
        on_end: Called with the run's exit code when the body returned (0, or the
            ``actor.exit_code`` it set) after the run ended.

    Returns:
        What ``body`` returned.
    """
    if actor.is_running:
        return body()
    _init(actor, keep_logging=keep_logging)
    try:
        result = body()
    except SystemExit as exc:
        # actor.exit() in the body already ended the run; sys.exit() ends it now.
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        _end(actor, code, None)
        raise
    except KeyboardInterrupt:
        _end(actor, 130, 'Actor was interrupted')
        raise
    except Exception as exc:
        known = user_error(exc)
        if known is not None and known[0] == 0:
            # The framework's way of ending a command early and successfully.
            code = actor.exit_code or 0
            _end(actor, code, None)
            if on_end is not None:
                on_end(code)
            raise
        if known is not None:
            code, message = known
            logger.error('the command failed (exit code %d): %s', code, message)
            _end(actor, code, message)
            raise
        code = actor.exit_code or EXIT_CODE_USER_FUNCTION_THREW
        # The traceback is the framework's to show (it is re-raised): one line here.
        logger.error('the command failed with %s: %s', type(exc).__name__, exc)
        _end(actor, code, f'Actor failed: {type(exc).__name__}: {exc}')
        if on_crash is not None:
            on_crash(exc, code)
        raise
    code = actor.exit_code or 0
    _end(actor, code, None)
    if on_end is not None:
        on_end(code)
    return result


def _init(actor: Actor, *, keep_logging: bool) -> None:
    if not keep_logging:
        actor.init()
        return
    # The framework configured logging (its settings): records of the `actorkit` logger go
    # where that configuration sends them, and no console handler of ours is added over it.
    chosen = actor._configure_logging
    actor._configure_logging = False
    try:
        actor.init()
    finally:
        actor._configure_logging = chosen


def _end(actor: Actor, code: int, status_message: str | None) -> None:
    # The exit sequence without the process-ending step of exit()/fail(): the framework's
    # runner owns the process. A run the body already ended makes this a no-op.
    actor._finish(exit_code=code, status_message=status_message, exception=None, timeout=None)
