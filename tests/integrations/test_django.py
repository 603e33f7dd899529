"""ActorCommand under the real Django: call_command in-process and manage.py in a subprocess.

In-process, Django is configured once for this test process with the example project's app
and no logging configuration (pytest's own handlers stay in charge); the subprocess tests run
the example project exactly as a user would, with its settings and its logging.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip('django', reason="Django is not installed: pip install 'actorkit[django]'")

import django
from _local_storage import dataset_items, write_input
from _subprocess import TIMEOUT, describe, script_env
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from actorkit import Event, actor
from actorkit.integrations.django import ActorCommand

PROJECT = Path(__file__).resolve().parents[2] / 'examples' / 'django_project'
PRODUCTS = {'products': [{'name': 'Tea', 'price': 3.5}, {'name': 'Cake', 'price': 2}]}


def _configure_django() -> None:
    if not settings.configured:
        sys.path.insert(0, str(PROJECT))
        settings.configure(
            INSTALLED_APPS=['catalog'], DATABASES={}, LOGGING_CONFIG=None, USE_TZ=True
        )
        django.setup()


_configure_django()


class Recorded(ActorCommand):
    """Records how its run ended (the EXIT event) and does what ``behaviour`` says."""

    def __init__(self, behaviour: Any) -> None:
        super().__init__()
        self.behaviour = behaviour
        self.exits: list[tuple[int, str | None]] = []
        self.ended = threading.Event()

    def handle(self, *args: Any, **options: Any) -> str | None:
        def record(data: Any) -> None:
            self.exits.append((data.exit_code, data.status_message))
            self.ended.set()

        actor.on(Event.EXIT, record)
        return self.behaviour()


def test_call_command_runs_the_example_command_as_one_actor_run(storage: Path) -> None:
    """call_command runs handle() between init and exit, pushes data and returns normally."""
    write_input(storage, {**PRODUCTS, 'currency': 'EUR'})
    out = _io()
    call_command('import_products', stdout=out)
    assert 'imported 2 products' in out.getvalue()
    assert not actor.is_running
    assert dataset_items(storage) == [
        {'name': 'Tea', 'price': '3.50 EUR'},
        {'name': 'Cake', 'price': '2.00 EUR'},
    ]
    summary = storage / 'key_value_stores' / 'default' / 'SUMMARY'
    assert json.loads(summary.read_text(encoding='utf-8')) == {'imported': 2, 'currency': 'EUR'}


def test_call_command_runs_again_in_the_same_process(storage: Path) -> None:
    """A second call_command starts a fresh run; options reach handle()."""
    write_input(storage, PRODUCTS)
    call_command('import_products', stdout=_io())
    call_command('import_products', '--limit', '1', stdout=_io())
    # The second run purged the default dataset on start, as every local run does.
    assert dataset_items(storage) == [{'name': 'Tea', 'price': '3.50 USD'}]


def test_command_error_fails_the_run_with_its_returncode_and_message(storage: Path) -> None:
    """CommandError ends the run with its returncode and message, then reaches the caller."""

    def refuse() -> None:
        raise CommandError('no products to import', returncode=3)

    command = Recorded(refuse)
    with pytest.raises(CommandError, match='no products to import') as raised:
        call_command(command)
    assert raised.value.returncode == 3
    assert command.exits == [(3, 'no products to import')]
    assert not actor.is_running


def test_other_exceptions_fail_the_run_with_91_and_are_re_raised(storage: Path) -> None:
    """Any other exception ends the run with exit code 91 and is re-raised to call_command."""

    def crash() -> None:
        raise ValueError('broken row 7')

    command = Recorded(crash)
    with pytest.raises(ValueError, match='broken row 7'):
        call_command(command)
    assert command.exits == [(91, 'Actor failed: ValueError: broken row 7')]
    assert not actor.is_running


def test_exit_code_set_in_handle_ends_the_run_with_it(storage: Path) -> None:
    """actor.exit_code set by handle() is the run's exit code; call_command still returns."""

    def partial() -> str:
        actor.exit_code = 4
        return 'done with warnings'

    command = Recorded(partial)
    out = _io()
    call_command(command, stdout=out)
    assert command.exits == [(4, None)]
    assert 'done with warnings' in out.getvalue()


def test_run_from_argv_exits_with_the_exit_code_the_run_ended_with(storage: Path) -> None:
    """From the command line, an exit_code set by handle() becomes the process's exit code."""

    def partial() -> None:
        actor.exit_code = 4

    command = Recorded(partial)
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(['manage.py', 'recorded'])
    assert exited.value.code == 4
    assert command.exits == [(4, None)]
    assert not actor.is_running


def test_a_command_called_from_a_running_actor_joins_its_run(storage: Path) -> None:
    """call_command inside a running Actor runs handle() in that run and leaves it going."""
    write_input(storage, PRODUCTS)
    actor.init()
    call_command('import_products', stdout=_io())
    assert actor.is_running
    assert actor.open_dataset().item_count == 2
    actor.exit()
    assert not actor.is_running


def test_manage_py_runs_the_command_with_django_logging_and_exit_codes(tmp_path: Path) -> None:
    """manage.py exits 0, 2 (CommandError) and 91 (a crash) and logs through settings.LOGGING."""
    storage = tmp_path / 'storage'
    write_input(storage, PRODUCTS)
    ok = _manage(tmp_path, 'import_products')
    assert ok.returncode == 0, describe(ok)
    assert 'imported 2 products' in ok.stdout
    assert len(dataset_items(storage)) == 2
    # The project's LOGGING format, not actorkit's console handler (which stamps the time).
    assert 'INFO actorkit: Initializing Actor' in ok.stderr, describe(ok)
    assert 'Z INFO' not in ok.stderr

    write_input(storage, {'currency': 'EUR'})
    refused = _manage(tmp_path, 'import_products')
    assert refused.returncode == 2, describe(refused)
    assert 'CommandError: the input has no "products" list' in refused.stderr
    assert 'Traceback' not in refused.stderr

    write_input(storage, {'products': [{'name': 'Tea', 'price': 'free'}]})
    crashed = _manage(tmp_path, 'import_products')
    assert crashed.returncode == 91, describe(crashed)
    assert 'Traceback (most recent call last)' in crashed.stderr
    assert "ValueError: Unknown format code 'f'" in crashed.stderr


def test_importing_without_django_says_how_to_install_it(tmp_path: Path) -> None:
    """Without Django the module fails with the pip command that installs the extra."""
    code = (
        'import sys\n'
        "sys.modules['django'] = None\n"
        'try:\n'
        '    import actorkit.integrations.django\n'
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
    assert "pip install 'actorkit[django]'" in result.stdout, describe(result)


def _manage(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, 'manage.py', *args],
        cwd=PROJECT,
        env=script_env(tmp_path, {'DJANGO_SETTINGS_MODULE': None}),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _io() -> Any:
    import io

    return io.StringIO()
