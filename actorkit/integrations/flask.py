"""Flask CLI commands that run as Actors: :func:`actor_command`.

Example::

    import click
    from flask import Flask

    from actorkit import actor
    from actorkit.integrations.flask import actor_command

    app = Flask(__name__)


    @app.cli.command('import-products')
    @click.option('--limit', type=int, default=10)
    @actor_command
    def import_products(limit):
        data = actor.get_input() or {}
        actor.push_data([{'product': p} for p in data.get('products', [])[:limit]])

``flask --app app import-products`` then runs the function as one Actor run.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

try:
    import click
    import flask  # noqa: F401 (the hint below is about Flask)
except ImportError as exc:  # pragma: no cover (the hint is the point)
    raise ImportError(
        "actorkit.integrations.flask needs Flask: pip install 'actorkit[flask]'"
    ) from exc

from actorkit.integrations._command import default_actor, run_as_actor

if TYPE_CHECKING:
    from actorkit._actor import Actor

__all__ = ['actor_command']

_F = TypeVar('_F', bound=Callable[..., Any])


def _click_error(exc: BaseException) -> tuple[int, str] | None:
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code, f'the command exited with code {exc.exit_code}'
    if isinstance(exc, click.ClickException):
        return exc.exit_code, exc.format_message()
    if isinstance(exc, click.Abort):
        return 1, 'Aborted!'
    return None


@overload
def actor_command(function: _F, /) -> _F: ...


@overload
def actor_command(*, actor: Actor | None = None) -> Callable[[_F], _F]: ...


def actor_command(
    function: _F | None = None, /, *, actor: Actor | None = None
) -> _F | Callable[[_F], _F]:
    """Run a ``flask`` (click) CLI command as one Actor run.

    Put it directly above the function, under the click decorators (as Flask's
    ``with_appcontext``). The run never ends the process; the command ends as click commands
    do:

    * the function returns: the run succeeds with exit code 0; if it set ``actor.exit_code``,
      the run and the command end with that code.
    * it raises a :class:`click.ClickException` or :class:`click.Abort`, or calls
      ``ctx.exit(code)`` with a non-zero code: the run fails with that exit code and message;
      click prints the error and exits with it. ``ctx.exit(0)`` ends the run as a return does.
    * it raises another exception: the run fails with exit code 91 (or ``actor.exit_code``),
      the traceback is printed to stderr and the command exits with that code.

    Args:
        function: The command function (when used as ``@actor_command``).
        actor: The Actor whose run it is; ``actorkit.actor`` by default.

    Returns:
        The wrapped function, or a decorator when called with keywords only.
    """

    def decorate(command: _F) -> _F:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            crashes: list[tuple[BaseException, int]] = []
            codes: list[int] = []
            try:
                result = run_as_actor(
                    actor if actor is not None else default_actor(),
                    functools.partial(command, *args, **kwargs),
                    user_error=_click_error,
                    keep_logging=False,
                    on_crash=lambda exc, code: crashes.append((exc, code)),
                    on_end=codes.append,
                )
            except Exception as exc:
                if not crashes or crashes[0][0] is not exc:
                    raise
                # What Python prints for an uncaught exception, then the run's exit code.
                click.echo(''.join(traceback.format_exception(exc)), err=True, nl=False)
                raise click.exceptions.Exit(crashes[0][1]) from exc
            if codes and codes[0] != 0:
                raise click.exceptions.Exit(codes[0])
            return result

        return run  # type: ignore[return-value]

    if function is not None:
        return decorate(function)
    return decorate
