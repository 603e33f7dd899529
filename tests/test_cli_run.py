"""``actorkit run``: scripts run as Actors in a child process, and the rehearsals."""

from __future__ import annotations

import json
from pathlib import Path

from tests._cli import cli, ok
from tests._subprocess import write_script

_SCHEMA = {
    'title': 'Input',
    'type': 'object',
    'schemaVersion': 1,
    'properties': {
        'count': {
            'title': 'Count',
            'type': 'integer',
            'description': 'How many',
            'editor': 'number',
            'default': 2,
        },
    },
    'required': ['count'],
}


def _items(tmp_path: Path) -> list[dict[str, object]]:
    return json.loads(ok(cli(tmp_path, 'dataset', 'export')))


def test_run_keeps_the_exit_code_output_and_prints_a_summary(tmp_path: Path) -> None:
    """The script's stdout is left as it is, its exit code is kept, a summary goes to stderr."""
    write_script(
        tmp_path,
        """
        import sys
        from actorkit import actor
        actor.init()
        actor.push_data([{'n': 1}, {'n': 2}])
        actor.set_value('OUTPUT', {'ok': True})
        print('plain print', sys.argv[1:])
        actor.exit(exit_code=3)
        """,
    )
    result = cli(tmp_path, 'run', '--no-purge', 'script.py', 'a', '--flag')
    assert result.returncode == 3, result.stderr.decode()
    assert result.stdout.decode() == "plain print ['a', '--flag']\n"
    last = result.stderr.decode().strip().splitlines()[-1]
    assert last.startswith('actorkit run: exit code 3; 2 items pushed to storage/datasets/default')
    assert '1 record written in storage/key_value_stores/default' in last


def test_a_script_that_never_calls_init_gets_its_input(tmp_path: Path) -> None:
    """The input is in the default store before the script starts, for any code to read."""
    write_script(
        tmp_path,
        """
        import os, subprocess, sys
        folder = os.path.join(os.environ['APIFY_LOCAL_STORAGE_DIR'], 'key_value_stores', 'default')
        print(open(os.path.join(folder, 'INPUT')).read().replace('\\n', '').replace(' ', ''))
        got = subprocess.run([sys.executable, '-m', 'actorkit', 'get-input'], capture_output=True)
        sys.stdout.write(got.stdout.decode())
        sys.exit(5)
        """,
    )
    result = cli(tmp_path, 'run', '--input', '{"url": "https://example.com"}', 'script.py')
    assert result.returncode == 5
    assert result.stdout.decode().splitlines() == [
        '{"url":"https://example.com"}',
        '{"url": "https://example.com"}',
    ]


def test_run_fills_schema_defaults_and_refuses_bad_input(tmp_path: Path) -> None:
    """The input schema of .actor/ gives defaults; input that breaks it stops the run early."""
    (tmp_path / '.actor').mkdir()
    (tmp_path / '.actor' / 'input_schema.json').write_text(json.dumps(_SCHEMA))
    write_script(
        tmp_path,
        """
        from actorkit import actor
        with actor:
            print(actor.get_input())
        """,
    )
    result = cli(tmp_path, 'run', 'script.py')
    assert result.stdout.decode() == "{'count': 2}\n", result.stderr.decode()
    bad = cli(tmp_path, 'run', '--input', '{"count": "many"}', 'script.py')
    assert bad.returncode == 1
    assert bad.stdout == b''
    message = bad.stderr.decode().strip()
    assert len(message.splitlines()) == 1
    assert 'count' in message


def test_run_purges_unless_told_not_to(tmp_path: Path) -> None:
    """Each run starts with empty default storages; --no-purge keeps what was there."""
    write_script(
        tmp_path,
        """
        from actorkit import actor
        with actor:
            actor.push_data({'n': actor.get_input()['n']})
        """,
    )
    ok(cli(tmp_path, 'run', '--input', '{"n": 1}', 'script.py'))
    ok(cli(tmp_path, 'run', '--input', '{"n": 2}', 'script.py'))
    assert _items(tmp_path) == [{'n': 2}]
    ok(cli(tmp_path, 'run', '--no-purge', '--input-file', '-', 'script.py', stdin=b'{"n": 3}'))
    assert _items(tmp_path) == [{'n': 2}, {'n': 3}]


def test_run_a_module_with_arguments(tmp_path: Path) -> None:
    """run -m MODULE ARGS runs the module as python -m does, in the given storage folder."""
    package = tmp_path / 'job'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / '__main__.py').write_text(
        'import sys\n'
        'from actorkit import actor\n'
        'with actor:\n'
        "    actor.push_data({'args': sys.argv[1:]})\n"
    )
    result = cli(tmp_path, 'run', '--storage-dir', 'elsewhere', '-m', 'job', '--flag', 'x', '-y')
    assert result.returncode == 0, result.stderr.decode()
    assert 'storage: elsewhere' in result.stderr.decode()
    item = tmp_path / 'elsewhere' / 'datasets' / 'default' / '000000001.json'
    assert json.loads(item.read_text()) == {'args': ['--flag', 'x', '-y']}


def test_run_of_a_missing_script_is_one_error_line(tmp_path: Path) -> None:
    """A script that is not there is named; nothing is run."""
    result = cli(tmp_path, 'run', 'nope.py')
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        'actorkit: error: no script nope.py: give the path of a Python file, or -m MODULE'
    )


def test_rehearsal_options_without_a_rehearsal_are_usage_errors(tmp_path: Path) -> None:
    """--migrations alone is refused with exit code 2 before anything runs."""
    write_script(tmp_path, 'raise SystemExit(9)\n')
    result = cli(tmp_path, 'run', '--migrations', '3', 'script.py')
    assert result.returncode == 2
    assert '--migrate-after' in result.stderr.decode()


_LONG_RUN = """
import time
from actorkit import actor
with actor:
    state = actor.use_state({'done': 0})
    while state['done'] < 80:
        n = state['done']
        actor.push_data({'n': n})
        time.sleep(0.05)
        state['done'] = n + 1
    print('finished at', state['done'], flush=True)
"""


def test_migrate_after_restarts_the_run_and_reports_duplicates(tmp_path: Path) -> None:
    """Two migrations: state saved by use_state survives; items pushed twice are reported."""
    write_script(tmp_path, _LONG_RUN)
    result = cli(tmp_path, 'run', '--migrate-after', '1.5', '--migrations', '2', 'script.py')
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert result.stdout.decode() == 'finished at 80\n'
    assert 'rehearsal of 2 migration(s)' in err
    assert err.count('MIGRATING sent to process') == 2
    assert err.count('killed (SIGKILL) and restarted') == 2
    assert 'default/APIFY_GLOBAL_STATE' in err
    assert 'state: saved before every kill' in err
    assert 'the run finished' in err
    numbers = [item['n'] for item in _items(tmp_path)]
    assert sorted(set(numbers)) == list(range(80))
    duplicates = len(numbers) - len(set(numbers))
    if duplicates:
        assert f'{duplicates} of {len(numbers)} items were pushed twice' in err
    else:
        assert 'none pushed twice' in err


def test_abort_after_reports_requests_handled_again(tmp_path: Path) -> None:
    """An abort mid-request: the request held by the killed process is handled again."""
    write_script(
        tmp_path,
        """
        import pathlib, time
        from actorkit import actor
        with actor:
            rq = actor.open_request_queue()
            if rq.get_total_count() == 0:
                rq.add_requests([f'https://example.com/{i}' for i in range(5)])
            first_start = not pathlib.Path('started').exists()
            pathlib.Path('started').touch()
            while (request := rq.fetch_next_request()) is not None:
                if first_start:
                    time.sleep(30)  # still holding it when the abort comes
                rq.mark_request_as_handled(request)
        """,
    )
    result = cli(tmp_path, 'run', '--abort-after', '1.5', 'script.py')
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert 'rehearsal of 1 abort(s)' in err
    assert 'ABORTING sent to process' in err
    assert '5 requests handled (5 of 5)' in err
    assert (
        'queue default: 1 request in progress when a process was killed, fetched again after '
        'the restart (e.g. https://example.com/0)'
    ) in err


def test_rehearsal_of_a_script_without_init_says_so(tmp_path: Path) -> None:
    """A script with no Actor gets no event: the report says it had no events connection."""
    write_script(
        tmp_path,
        """
        import pathlib, time
        marker = pathlib.Path('started-once')
        if not marker.exists():
            marker.touch()
            time.sleep(30)
        """,
    )
    result = cli(tmp_path, 'run', '--migrate-after', '0.3', '--grace', '0.5', 'script.py')
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert 'it had no events connection (does it call actor.init()?)' in err
    assert 'killed (SIGKILL) and restarted' in err
