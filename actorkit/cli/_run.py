"""``actorkit run``: run a script or module as an Actor, locally, as the platform would.

The command sets the run up itself, before the script starts, so that code that never calls
``actor.init()`` (a legacy script, the official SDK, a subprocess) finds its storage and input
too: the storage folder (purged unless ``--no-purge``), the input in the default key-value
store's INPUT record with the input schema's defaults filled in and checked, and a run token
(:mod:`actorkit.storages._run_purge`) so that no process of the run purges again. The script
runs in a child process with that environment; its output is left alone, its exit code kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from actorkit.cli._common import EXIT_USAGE, CliError, plural
from actorkit.cli._inspect import scan_storages

if TYPE_CHECKING:
    from actorkit._config import Configuration


@attrs.define
class RunSetup:
    """What a run of the script needs: its command, environment and storage."""

    argv: list[str]
    """The child's command line."""
    env: dict[str, str]
    """The child's environment."""
    root: Path
    """The absolute storage folder."""
    config: Configuration
    """The run's configuration (purge as asked)."""
    before: dict[tuple[str, str], dict[str, Any]]
    """The storages before the run, by (kind, name)."""
    records_before: dict[str, tuple[int, int]]
    """The records of the key-value stores before the run (see :func:`record_stamps`)."""


def _child_argv(args: argparse.Namespace) -> list[str]:
    if args.module:
        rest = ([args.target] if args.target else []) + list(args.script_args)
        return [sys.executable, '-m', args.module, *rest]
    if not args.target:
        raise CliError('give SCRIPT.py to run, or -m MODULE', EXIT_USAGE)
    script = Path(args.target)
    if not script.is_file():
        raise CliError(f'no script {args.target}: give the path of a Python file, or -m MODULE')
    return [sys.executable, str(script), *args.script_args]


def _truthy(value: str | None) -> bool:
    return (value or '').strip().lower() in {'1', 'true', 'yes', 'on'}


def prepare_run(args: argparse.Namespace) -> RunSetup:
    """Check the arguments, set the storage and the input up, and build the child's env."""
    from actorkit._config import Configuration  # noqa: PLC0415
    from actorkit._storage_manager import StorageManager  # noqa: PLC0415
    from actorkit.cli._values import read_input_option  # noqa: PLC0415
    from actorkit.storages._run_purge import RUN_TOKEN_ENV  # noqa: PLC0415

    argv = _child_argv(args)
    if _truthy(os.environ.get('APIFY_IS_AT_HOME')):
        raise CliError(
            'actorkit run runs a script locally, but APIFY_IS_AT_HOME is set: on the platform '
            'start the script itself'
        )
    given, run_input = read_input_option(args)
    env = dict(os.environ)
    env.pop(RUN_TOKEN_ENV, None)  # a run of its own, even when started from another run
    os.environ.pop(RUN_TOKEN_ENV, None)
    config = Configuration.from_env(env)
    root = Path(args.storage_dir or config.local_storage_dir).absolute()
    config = attrs.evolve(config, local_storage_dir=str(root), purge_on_start=args.purge)
    manager = StorageManager(config)
    try:
        store = manager.open_key_value_store()  # each default storage is purged once, here
        manager.open_dataset()
        manager.open_request_queue()
        if given:
            store.client.delete_record(config.input_key)
            store.set_value(config.input_key, run_input)
        checked = _checked_input(manager, config, store)
        if checked is not None and checked != store.get_value(config.input_key):
            # The schema's defaults, written as the platform starts a run with them.
            store.client.delete_record(config.input_key)
            store.set_value(config.input_key, checked)
        token = os.environ.get(RUN_TOKEN_ENV)
    finally:
        manager.close()
    env['APIFY_LOCAL_STORAGE_DIR'] = str(root)
    env.pop('CRAWLEE_STORAGE_DIR', None)
    # The storages of the run are purged already: the run token tells its processes so, and
    # a --no-purge run must not be purged by them either.
    env['APIFY_PURGE_ON_START'] = 'true' if args.purge else 'false'
    env.pop('CRAWLEE_PURGE_ON_START', None)
    if token:
        env[RUN_TOKEN_ENV] = token
    before = {(row['kind'], row['name']): row for row in scan_storages(root)}
    return RunSetup(argv, env, root, config, before, record_stamps(root))


def _checked_input(manager: Any, config: Configuration, store: Any) -> Any:
    """The input as the run will read it: defaults of the input schema filled in, checked.

    Secret fields stay as stored (encrypted): they are decrypted by the run, never written
    back in clear.
    """
    from actorkit.storages._input import load_input  # noqa: PLC0415

    cwd = Path.cwd()
    return load_input(
        store.client,
        input_key=config.input_key,
        store_location=str(manager.root / 'key_value_stores' / 'default'),
        fallback_dir=cwd,
        actor_dir=cwd,
        validate=True,
    )


@contextlib.contextmanager
def forwarded_signals(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """Pass signals on to the child while it runs.

    Ctrl-C reaches it from the terminal (this process ignores it); SIGTERM and SIGHUP are
    passed on to it.
    """

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            process.send_signal(signum)

    previous: dict[int, Any] = {}
    for signum, handler in (
        (signal.SIGINT, signal.SIG_IGN),
        (signal.SIGTERM, forward),
        (signal.SIGHUP, forward),
    ):
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(number, old)


def exit_code_of(returncode: int) -> int:
    """A shell's exit code for a child's return code (128 + N for a signal N)."""
    return 128 - returncode if returncode < 0 else returncode


def start(setup: RunSetup, extra_env: dict[str, str] | None = None, **popen: Any) -> Any:
    """Start the script."""
    env = {**setup.env, **(extra_env or {})}
    try:
        return subprocess.Popen(setup.argv, env=env, **popen)
    except OSError as exc:
        raise CliError(f'cannot start {setup.argv[1]}: {exc.strerror or exc}') from None


def run_command(args: argparse.Namespace) -> int:
    """``actorkit run``."""
    rehearsing = args.migrate_after is not None or args.abort_after is not None
    if not rehearsing and (args.migrations is not None or args.grace is not None):
        raise CliError(
            '--migrations and --grace go with --migrate-after or --abort-after', EXIT_USAGE
        )
    setup = prepare_run(args)
    if rehearsing:
        from actorkit.cli._rehearse import rehearse  # noqa: PLC0415

        return rehearse(args, setup)
    process = start(setup)
    with forwarded_signals(process), _queue_progress(setup.root):
        returncode = process.wait()
    code = exit_code_of(returncode)
    sys.stderr.write(summary(setup, code))
    return code


QUEUE_PROGRESS_SECS = 5.0
"""How often a run on a terminal reports the progress of its default request queue."""


@contextlib.contextmanager
def _queue_progress(root: Path) -> Iterator[None]:
    """On a terminal, a progress line of the default request queue every few seconds.

    Whole lines, not a bar redrawn in place: the script writes to the same terminal, and a
    bar would mangle its output. Nothing is shown when stderr is not a terminal.
    """
    if not sys.stderr.isatty():
        yield
        return
    import threading  # noqa: PLC0415

    from actorkit._threads import start_thread  # noqa: PLC0415
    from actorkit.cli._inspect import scan_storage  # noqa: PLC0415

    stop = threading.Event()
    folder = root / 'request_queues' / 'default'

    def watch() -> None:
        shown = (0, 0)
        while not stop.wait(QUEUE_PROGRESS_SECS):
            row = scan_storage('request_queues', folder)
            counts = (row['handledRequestCount'], row['totalRequestCount'])
            if counts[1] and counts != shown:
                shown = counts
                bar = '#' * (20 * counts[0] // counts[1])
                with contextlib.suppress(OSError, ValueError):
                    sys.stderr.write(
                        f'actorkit run: [{bar:<20}] {counts[0]:,}/{counts[1]:,} requests handled\n'
                    )
                    sys.stderr.flush()

    thread = start_thread('cli-progress', watch)
    try:
        yield
    finally:
        stop.set()
        thread.join(2.0)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def storage_changes(setup: RunSetup) -> list[str]:
    """What the run changed in its storages, one phrase per storage."""
    lines = []
    changed = written_between(setup.records_before, record_stamps(setup.root))
    for row in scan_storages(setup.root):
        key = (row['kind'], row['name'])
        old = setup.before.get(key, {})
        where = _relative(Path(row['path']))
        if row['kind'] == 'dataset':
            pushed = row['itemCount'] - old.get('itemCount', 0)
            if pushed:
                lines.append(f'{plural(pushed, "item")} pushed to {where}')
        elif row['kind'] == 'key-value store':
            prefix = f'{row["name"]}/'
            written = sum(1 for name in changed if name.startswith(prefix))
            if written:
                lines.append(f'{plural(written, "record")} written in {where}')
        else:
            handled = row['handledRequestCount'] - old.get('handledRequestCount', 0)
            if handled or row['totalRequestCount'] != old.get('totalRequestCount', 0):
                lines.append(
                    f'{plural(handled, "request")} handled ({row["handledRequestCount"]:,} of '
                    f'{row["totalRequestCount"]:,}) in {where}'
                )
    return lines


def record_stamps(root: Path) -> dict[str, tuple[int, int]]:
    """Every record of every local key-value store, as ``store/file``: (mtime_ns, size).

    Two stamps of the same record differ when it was written in between (a write replaces the
    file, so even a rewrite of the same size within the clock's granularity gets a new inode
    time; the size catches the rest).
    """
    stamps = {}
    base = root / 'key_value_stores'
    with contextlib.suppress(OSError):
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            with contextlib.suppress(OSError), os.scandir(folder) as entries:
                for entry in entries:
                    name = entry.name
                    if name.endswith('__metadata__.json') or name.startswith('.'):
                        continue
                    with contextlib.suppress(OSError):
                        stat = entry.stat()
                        stamps[f'{folder.name}/{name}'] = (stat.st_mtime_ns, stat.st_size)
    return stamps


def written_between(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> list[str]:
    """The records (``store/key``) written between two :func:`record_stamps`."""
    from urllib.parse import unquote  # noqa: PLC0415

    return [unquote(name) for name, stamp in after.items() if before.get(name) != stamp]


def summary(setup: RunSetup, code: int) -> str:
    """The lines printed on stderr at the end of a run."""
    changes = storage_changes(setup) or ['nothing stored']
    return (
        f'actorkit run: exit code {code}; '
        + '; '.join(changes)
        + f' (storage: {_relative(setup.root)})\n'
    )
