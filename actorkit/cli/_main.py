"""The command line's entry point: parse, run the command, and report errors in one place.

The parser of every command is in :mod:`actorkit.cli._parser`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from actorkit.cli._common import EXIT_USAGE, CliError, Missing, close_storages
from actorkit.cli._parser import PROG, _split_run, build_parser


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    parts = [line.strip(' -') for line in text.splitlines() if line.strip()]
    joined = ''
    for part in parts:
        joined += part if not joined else (' ' if joined.endswith(':') else '; ') + part
    return joined


def _report(message: str) -> None:
    try:
        sys.stderr.write(f'{PROG}: error: {message}\n')
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _quiet_broken_pipe() -> int:
    # The reader went away (`actorkit dataset export | head -1`): stop quietly. stdout is
    # pointed at /dev/null so that the interpreter's last flush cannot fail again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``actorkit`` command; return its exit code.

    Args:
        argv: The arguments (``sys.argv[1:]`` by default).
    """
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    head, script_args = _split_run(arguments)
    args = parser.parse_args(head)
    if script_args is not None:
        args.script_args = script_args
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _configure_logging()
    try:
        try:
            code: int = args.handler(args)
        finally:
            close_storages()
    except Missing:
        return 1
    except CliError as exc:
        _report(str(exc))
        return exc.code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from actorkit._errors import ActorkitError  # noqa: PLC0415

        if isinstance(exc, ActorkitError | OSError | ValueError | TypeError):
            _report(_one_line(exc))
        else:
            _report(f'{type(exc).__name__}: {_one_line(exc)}')
        return 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _quiet_broken_pipe()
    return code


def _configure_logging() -> None:
    import logging  # noqa: PLC0415

    logger = logging.getLogger('actorkit')
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter('actorkit: %(levelname)s: %(message)s'))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
