"""The parser of every ``actorkit`` command, and the split of ``run``'s arguments at the script.

Each command names its handler as ``module:function``; the module is imported only when that
command runs, so ``actorkit --help`` and the local commands stay fast and never load
``requests``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

from actorkit._version import __version__
from actorkit.cli._common import EXIT_USAGE

PROG = 'actorkit'

_DESCRIPTION = """\
Run Python code as an Apify Actor locally, use the Actor's storages from shell scripts, and
inspect them. On the platform (APIFY_IS_AT_HOME=1) the same commands use the run's storages
through the API.
"""

_EPILOG = """\
examples:
  actorkit run --input '{"url": "https://example.com"}' main.py
  actorkit run --migrate-after 5 --migrations 2 main.py
  actorkit get-input | jq -r .url
  echo '{"title": "x"}' | actorkit push-data -
  actorkit dataset export --format csv -o results.csv
"""


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line (exit 2) and help on every command."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f'{self.prog}: error: {message} (see {self.prog} --help)\n')


def _handler(spec: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        module_name, function = spec.split(':')
        module = importlib.import_module(f'actorkit.cli.{module_name}')
        result: int = getattr(module, function)(args)
        return result

    return run


def _command(
    subparsers: Any, name: str, handler: str, help: str, description: str | None = None
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=_handler(handler))
    return parser


def _storage_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--storage-dir',
        metavar='DIR',
        help='the local storage folder (default: APIFY_LOCAL_STORAGE_DIR or ./storage)',
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command."""
    parser = _Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('--version', action='version', version=f'actorkit {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', parser_class=_Parser)

    _add_run(sub)
    _add_values(sub)
    _add_inspection(sub)
    return parser


def _add_run(sub: Any) -> None:
    run = _command(
        sub,
        'run',
        '_run:run_command',
        'run a script or module as an Actor, locally',
        description=(
            'Run SCRIPT.py (or -m MODULE) as the platform would run an Actor: the storage is\n'
            'set up (purged unless --no-purge), the input is written to the default key-value\n'
            "store's INPUT record with the defaults of .actor/'s input schema filled in and\n"
            'checked, and the script runs in a child process with the environment of a run.\n'
            "The script's exit code is kept; a summary goes to stderr at the end.\n\n"
            '--migrate-after / --abort-after rehearse what the platform does to a long run:\n'
            'after SECONDS the run gets MIGRATING (or ABORTING), its PERSIST_STATE listeners\n'
            'are waited for, the process is killed (SIGKILL) and started again on the same\n'
            'storage, N times; the report says whether the run finished and whether its state\n'
            'and results survived (items pushed twice, requests handled twice).'
        ),
    )
    given = run.add_mutually_exclusive_group()
    given.add_argument('--input', metavar='JSON', help='the input, as JSON (or @FILE)')
    given.add_argument(
        '--input-file', metavar='FILE', help='a file holding the input (- for stdin)'
    )
    run.add_argument(
        '--purge',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='empty the default storages first, as a new run has them (default: yes)',
    )
    _storage_dir(run)
    rehearse = run.add_mutually_exclusive_group()
    rehearse.add_argument(
        '--migrate-after',
        metavar='SECONDS',
        type=_positive_float,
        help='rehearse a migration after SECONDS of each start',
    )
    rehearse.add_argument(
        '--abort-after',
        metavar='SECONDS',
        type=_positive_float,
        help='rehearse a graceful abort (and a resurrection) after SECONDS of each start',
    )
    run.add_argument(
        '--migrations',
        metavar='N',
        type=_positive_int,
        help='how many times to migrate or abort (default: 1)',
    )
    run.add_argument(
        '--grace',
        metavar='SECONDS',
        type=_positive_float,
        help='how long the listeners may take before the process is killed (default: 10)',
    )
    run.add_argument('-m', dest='module', metavar='MODULE', help='run a module, as python -m')
    run.add_argument('target', nargs='?', metavar='SCRIPT.py', help='the script to run')
    run.add_argument(
        'script_args', nargs=argparse.REMAINDER, metavar='ARGS', help="the script's arguments"
    )


def _add_values(sub: Any) -> None:
    get_input = _command(
        sub,
        'get-input',
        '_values:get_input',
        "print the run's input (JSON; raw bytes for a non-JSON input)",
    )
    _storage_dir(get_input)

    get_value = _command(
        sub,
        'get-value',
        '_values:get_value',
        'print a record of the default key-value store (JSON, text or raw bytes)',
        description=(
            'Print the record KEY of the default key-value store: JSON records as JSON, text\n'
            'as it is, anything else as raw bytes. A missing record exits 1, printing nothing.'
        ),
    )
    get_value.add_argument('key', metavar='KEY')
    get_value.add_argument('--store', metavar='STORE', help='a named store instead')
    _storage_dir(get_value)

    set_value = _command(
        sub,
        'set-value',
        '_values:set_value',
        'write a record of the default key-value store',
        description=(
            'Write the record KEY: VALUE, or stdin when VALUE is - or missing (binary-safe).\n'
            'Without --content-type, JSON is stored as JSON, UTF-8 text as text/plain and\n'
            'anything else as application/octet-stream.'
        ),
    )
    set_value.add_argument('key', metavar='KEY')
    set_value.add_argument('value', nargs='?', metavar='VALUE', help='the value, or - for stdin')
    set_value.add_argument('--content-type', metavar='TYPE', help='the content type to store')
    set_value.add_argument('--store', metavar='STORE', help='a named store instead')
    _storage_dir(set_value)

    push = _command(
        sub,
        'push-data',
        '_values:push_data',
        'push items to the default dataset',
        description=(
            'Push an object or an array of objects given as JSON, or read them from stdin (-\n'
            'or nothing) or a file (@FILE): an object, an array, or JSON lines, streamed in\n'
            'batches, so any number of items fits.'
        ),
    )
    push.add_argument(
        'data', nargs='?', metavar='JSON', help='the items, - for stdin, or @FILE to read a file'
    )
    push.add_argument('--dataset', metavar='NAME', help='a named dataset instead')
    _storage_dir(push)

    status = _command(
        sub, 'set-status-message', '_values:set_status_message', "set the run's status message"
    )
    status.add_argument('message', metavar='MSG')
    status.add_argument('--terminal', action='store_true', help="the run's final message (at home)")

    charge = _command(
        sub,
        'charge',
        '_values:charge',
        'charge the user for events (pay-per-event Actors); prints the result as JSON',
    )
    charge.add_argument('event', metavar='EVENT')
    charge.add_argument('--count', metavar='N', type=_positive_int, default=1)
    charge.add_argument(
        '--idempotency-key', metavar='KEY', help='a retried charge with this key counts once'
    )
    _storage_dir(charge)

    metamorph = _command(
        sub,
        'metamorph',
        '_values:metamorph',
        'turn this run into a run of another Actor (at home)',
    )
    metamorph.add_argument('target', metavar='TARGET', help='the Actor: id or username/name')
    given = metamorph.add_mutually_exclusive_group()
    given.add_argument('--input', metavar='JSON', help="the target's input, as JSON")
    given.add_argument('--input-file', metavar='FILE', help='a file holding it (- for stdin)')
    metamorph.add_argument('--build', metavar='BUILD', help="the target's build tag or number")

    exit_ = _command(
        sub,
        'exit',
        '_values:exit_command',
        'end the run: set its final status message and exit with the code',
    )
    exit_.add_argument('--code', metavar='N', type=int, default=0, help='the exit code (0)')
    exit_.add_argument('--message', metavar='M', help='the final status message')


def _add_inspection(sub: Any) -> None:
    storages = _command(
        sub,
        'storages',
        '_inspect:storages',
        'list the storages with their counts and sizes (a table, or JSON when piped)',
    )
    storages.add_argument('--json', action='store_true', help='print JSON even on a terminal')
    _storage_dir(storages)

    dataset = _command(sub, 'dataset', '_inspect:missing_subcommand', 'show or export a dataset')
    dataset_sub = dataset.add_subparsers(dest='subcommand', metavar='SUBCOMMAND')
    show = _command(
        dataset_sub,
        'show',
        '_inspect:dataset_show',
        'show items: a table on a terminal, JSON when piped',
    )
    show.add_argument('name', nargs='?', metavar='NAME', help='the dataset (default: default)')
    show.add_argument('--limit', metavar='N', type=_positive_int, default=20)
    show.add_argument('--offset', metavar='N', type=_non_negative_int, default=0)
    show.add_argument('--json', action='store_true', help='print JSON even on a terminal')
    _storage_dir(show)
    export = _command(
        dataset_sub,
        'export',
        '_inspect:dataset_export',
        'export every item as JSON, JSON lines or CSV (streamed)',
    )
    export.add_argument('name', nargs='?', metavar='NAME', help='the dataset (default: default)')
    export.add_argument('--format', choices=('json', 'jsonl', 'csv'), default='json')
    export.add_argument('-o', '--output', metavar='FILE', help='write to FILE (default: stdout)')
    _storage_dir(export)

    kv = _command(sub, 'kv', '_inspect:missing_subcommand', 'read key-value stores')
    kv_sub = kv.add_subparsers(dest='subcommand', metavar='SUBCOMMAND')
    kv_get = _command(
        kv_sub,
        'get',
        '_inspect:kv_get',
        'print a record: kv get [STORE] KEY',
        description=(
            'Print the record KEY of STORE (default: the default store): JSON records as\n'
            'JSON, text as it is, anything else as raw bytes. A missing record exits 1.'
        ),
    )
    kv_get.add_argument('names', nargs='+', metavar='[STORE] KEY')
    _storage_dir(kv_get)
    kv_list = _command(
        kv_sub,
        'list',
        '_inspect:kv_list',
        'list the keys of a store with sizes and content types',
    )
    kv_list.add_argument('store', nargs='?', metavar='STORE', help='default: the default store')
    kv_list.add_argument('--json', action='store_true', help='print JSON even on a terminal')
    _storage_dir(kv_list)

    queue = _command(sub, 'queue', '_inspect:missing_subcommand', 'inspect request queues')
    queue_sub = queue.add_subparsers(dest='subcommand', metavar='SUBCOMMAND')
    stats = _command(
        queue_sub, 'stats', '_inspect:queue_stats', 'print the counts of a request queue (JSON)'
    )
    stats.add_argument('name', nargs='?', metavar='NAME', help='default: the default queue')
    _storage_dir(stats)


def _whole_number(text: str, low: int, too_low: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a whole number') from None
    if value < low:
        raise argparse.ArgumentTypeError(f'{value} {too_low}')
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1, 'is not a positive number')


def _non_negative_int(text: str) -> int:
    return _whole_number(text, 0, 'is below 0')


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number of seconds') from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f'{text} is not a positive number of seconds')
    return value


_RUN_VALUE_OPTIONS = frozenset(
    {
        '--input',
        '--input-file',
        '--storage-dir',
        '--migrate-after',
        '--abort-after',
        '--migrations',
        '--grace',
    }
)


def _split_run(arguments: list[str]) -> tuple[list[str], list[str] | None]:
    """Split ``run``'s arguments at the script (or ``-m MODULE``): the rest is the script's.

    argparse would read an option after the script (``run -m job --flag``) as its own; the
    script's arguments are everything after it, options included, as with ``python``.
    """
    if not arguments or arguments[0] != 'run':
        return arguments, None
    index = 1
    while index < len(arguments):
        arg = arguments[index]
        if arg == '--':
            return arguments[: index + 2], arguments[index + 2 :]
        if arg == '-m':
            return arguments[: index + 2], arguments[index + 2 :]
        if arg.startswith('-m') and not arg.startswith('--'):
            return arguments[: index + 1], arguments[index + 1 :]
        if arg in _RUN_VALUE_OPTIONS:
            index += 2
            continue
        if arg.startswith('-'):
            index += 1
            continue
        return arguments[: index + 1], arguments[index + 1 :]
    return arguments, None
