"""Django management commands that run as Actors: subclass :class:`ActorCommand`.

Example::

    from actorkit import actor
    from actorkit.integrations.django import ActorCommand


    class Command(ActorCommand):
        help = 'Import products from the Actor input'

        def handle(self, *args, **options):
            data = actor.get_input() or {}
            actor.push_data({'imported': len(data.get('products', []))})

``python manage.py import_products`` then runs ``handle()`` as one Actor run: input, storages
and events work as in a script, and the command ends as Django commands do.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

try:
    from django.core.management.base import BaseCommand, CommandError
except ImportError as exc:  # pragma: no cover (the hint is the point)
    raise ImportError(
        "actorkit.integrations.django needs Django: pip install 'actorkit[django]'"
    ) from exc

from actorkit.integrations._command import default_actor, run_as_actor

if TYPE_CHECKING:
    from actorkit._actor import Actor

__all__ = ['ActorCommand']


def _command_error(exc: BaseException) -> tuple[int, str] | None:
    if isinstance(exc, CommandError):
        return getattr(exc, 'returncode', 1), str(exc)
    return None


class ActorCommand(BaseCommand):  # type: ignore[misc]
    """A management command whose ``handle()`` is one Actor run.

    Override ``handle()`` as in any Django command; it runs between ``actor.init()`` and the
    end of the run, which never ends the process (``call_command`` in tests returns normally):

    * ``handle()`` returns: the run succeeds with exit code 0; if it set ``actor.exit_code``,
      the run ends with that code, and so does ``manage.py`` (``call_command`` returns).
    * it raises :class:`~django.core.management.CommandError`: the run fails with the error's
      ``returncode`` and its message as the terminal status message; Django then prints the
      error and exits with that code, as for any command.
    * it raises another exception: the run fails with exit code 91 (or ``actor.exit_code``);
      ``call_command`` re-raises it, and ``manage.py`` prints its traceback and exits with 91.
    * it calls ``sys.exit(code)``: the run ends with that code and the exception goes on.

    Logging stays Django's: actorkit adds no console handler, so configure the ``actorkit``
    logger in ``settings.LOGGING`` to see its records. If the Actor is already running
    (``call_command`` from a running Actor), ``handle()`` runs within that run.
    """

    _actorkit_crashes: tuple[tuple[BaseException, int], ...] = ()
    _actorkit_exit_code = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handle = cls.__dict__.get('handle')
        if handle is not None and not getattr(handle, '_actorkit_run', False):
            cls.handle = _as_actor_run(handle)

    def get_actor(self) -> Actor:
        """Return the Actor whose run the command is; ``actorkit.actor`` unless overridden."""
        return default_actor()

    def run_from_argv(self, argv: list[str]) -> None:
        """Run from ``manage.py``: a crash of ``handle()`` exits with the run's exit code (91)."""
        self._actorkit_crashes = ()
        self._actorkit_exit_code = 0
        try:
            super().run_from_argv(argv)
        except Exception as exc:
            crash = next((one for one in self._crashes() if one[0] is exc), None)
            if crash is None:
                raise
            # What Python would print for an uncaught exception, then the run's exit code.
            self.stderr.write(''.join(traceback.format_exception(exc)), ending='')
            sys.exit(crash[1])
        if self._exit_code():
            sys.exit(self._exit_code())

    def _record_crash(self, exc: BaseException, code: int) -> None:
        self._actorkit_crashes = (*self._actorkit_crashes, (exc, code))

    def _record_end(self, code: int) -> None:
        self._actorkit_exit_code = code

    def _exit_code(self) -> int:
        return self._actorkit_exit_code

    def _crashes(self) -> tuple[tuple[BaseException, int], ...]:
        return self._actorkit_crashes


def _as_actor_run(handle: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handle)
    def run(self: ActorCommand, *args: Any, **options: Any) -> Any:
        return run_as_actor(
            self.get_actor(),
            functools.partial(handle, self, *args, **options),
            user_error=_command_error,
            keep_logging=True,
            on_crash=self._record_crash,
            on_end=self._record_end,
        )

    run._actorkit_run = True  # type: ignore[attr-defined]
    return run
