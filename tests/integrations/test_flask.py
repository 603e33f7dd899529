"""actor_command under the real Flask: the app's CLI runner, and ``flask`` in a subprocess."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip('flask', reason="Flask is not installed: pip install 'actorkit[flask]'")

import click
from _local_storage import dataset_items, write_input
from _subprocess import TIMEOUT, describe, script_env
from flask import Flask

from actorkit import Actor, Event, actor
from actorkit.integrations.flask import actor_command

APP_DIR = Path(__file__).resolve().parents[2] / 'examples' / 'flask_app'
PRODUCTS = {'products': [{'name': 'Tea', 'price': 3.5}, {'name': 'Cake', 'price': 2}]}


def load_example() -> ModuleType:
    """Import examples/flask_app/app.py under a name of its own."""
    spec = importlib.util.spec_from_file_location('actorkit_example_flask_app', APP_DIR / 'app.py')
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recording_app(body: Callable[[], Any]) -> tuple[Flask, list[tuple[int, str | None]]]:
    """A Flask app whose `work` command records how its run ended, then runs ``body``."""
    app = Flask('recording')
    exits: list[tuple[int, str | None]] = []

    @app.cli.command('work')
    @actor_command
    def work() -> None:
        actor.on(Event.EXIT, lambda data: exits.append((data.exit_code, data.status_message)))
        body()

    return app, exits


def test_the_example_command_runs_as_one_actor_run(storage: Path) -> None:
    """The CLI runner runs the example command between init and exit; options reach it."""
    write_input(storage, {**PRODUCTS, 'currency': 'EUR'})
    app = load_example().app
    result = app.test_cli_runner().invoke(args=['import-products', '--limit', '1'])
    assert result.exit_code == 0, result.output
    assert 'imported 1 products' in result.output
    assert not actor.is_running
    assert dataset_items(storage) == [{'name': 'Tea', 'price': '3.50 EUR'}]
    again = app.test_cli_runner().invoke(args=['import-products'])
    assert again.exit_code == 0, again.output
    assert len(dataset_items(storage)) == 2


def test_click_errors_fail_the_run_with_their_exit_code(storage: Path) -> None:
    """A click UsageError ends the run with exit code 2 and its message; click reports it."""

    def refuse() -> None:
        raise click.UsageError('no products to import')

    app, exits = recording_app(refuse)
    result = app.test_cli_runner().invoke(args=['work'])
    assert result.exit_code == 2
    assert 'Error: no products to import' in result.output
    assert exits == [(2, 'no products to import')]


def test_crashes_fail_the_run_with_91_and_print_the_traceback(storage: Path) -> None:
    """Any other exception ends the run and the command with 91, its traceback on stderr."""

    def crash() -> None:
        raise ValueError('broken row 7')

    app, exits = recording_app(crash)
    result = app.test_cli_runner().invoke(args=['work'])
    assert result.exit_code == 91, result.output
    assert 'Traceback (most recent call last)' in result.stderr
    assert 'ValueError: broken row 7' in result.stderr
    assert exits == [(91, 'Actor failed: ValueError: broken row 7')]
    assert not actor.is_running


def test_exit_code_set_by_the_command_ends_the_run_with_it(storage: Path) -> None:
    """actor.exit_code set by the command is the exit code of the run and of the command."""

    def partial() -> None:
        actor.exit_code = 4

    app, exits = recording_app(partial)
    result = app.test_cli_runner().invoke(args=['work'])
    assert result.exit_code == 4, result.output
    assert exits == [(4, None)]


def test_ctx_exit_ends_the_run_with_its_code(storage: Path) -> None:
    """ctx.exit(0) ends the run successfully; ctx.exit(3) fails it with exit code 3."""
    for code, expected in ((0, (0, None)), (3, (3, 'the command exited with code 3'))):
        app, exits = recording_app(lambda code=code: click.get_current_context().exit(code))
        result = app.test_cli_runner().invoke(args=['work'])
        assert result.exit_code == code, result.output
        assert exits == [expected]
        assert 'Traceback' not in result.output


def test_an_actor_of_ones_own_runs_the_command(
    make_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """@actor_command(actor=...) runs the command as a run of that Actor, in an app context."""
    mine = make_actor()
    app = Flask('own')
    seen: list[Any] = []

    @app.cli.command('work')
    @click.argument('word')
    @actor_command(actor=mine)
    def work(word: str) -> None:
        from flask import current_app

        seen.append((word, mine.is_running, current_app.name))
        mine.push_data({'word': word})

    result = app.test_cli_runner().invoke(args=['work', 'hello'])
    assert result.exit_code == 0, result.output
    assert seen == [('hello', True, 'own')]
    assert not mine.is_running
    assert dataset_items(tmp_path / 'storage') == [{'word': 'hello'}]


def test_flask_cli_runs_the_example_in_a_process(tmp_path: Path) -> None:
    """`flask --app app import-products` exits 0 with the data pushed, and 91 on a crash."""
    storage = tmp_path / 'storage'
    write_input(storage, PRODUCTS)
    ok = _flask(tmp_path, 'import-products')
    assert ok.returncode == 0, describe(ok)
    assert 'imported 2 products' in ok.stdout
    assert dataset_items(storage) == [
        {'name': 'Tea', 'price': '3.50 USD'},
        {'name': 'Cake', 'price': '2.00 USD'},
    ]
    write_input(storage, {'products': [{'name': 'Tea', 'price': 'free'}]})
    crashed = _flask(tmp_path, 'import-products')
    assert crashed.returncode == 91, describe(crashed)
    assert "ValueError: Unknown format code 'f'" in crashed.stderr


def test_importing_without_flask_says_how_to_install_it(tmp_path: Path) -> None:
    """Without Flask the module fails with the pip command that installs the extra."""
    code = (
        'import sys\n'
        "sys.modules['flask'] = None\n"
        'try:\n'
        '    import actorkit.integrations.flask\n'
        'except ImportError as exc:\n'
        '    print(exc)\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        env=script_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert "pip install 'actorkit[flask]'" in result.stdout, describe(result)


def _flask(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-m', 'flask', '--app', 'app', *args],
        cwd=APP_DIR,
        env=script_env(tmp_path, {'FLASK_APP': None}),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
