"""The ``actorkit`` command's local commands, run in subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from actorkit import __version__
from actorkit.cli._json_stream import JsonItems
from actorkit.cli._main import build_parser
from actorkit.cli._progress import Progress
from tests._cli import cli, ok
from tests._subprocess import TIMEOUT, script_env


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    """``--version`` prints the version on stdout and exits 0."""
    assert ok(cli(tmp_path, '--version')).decode().strip() == f'actorkit {__version__}'


def test_every_command_has_help() -> None:
    """Every command and subcommand formats a help text with its usage."""
    seen = []

    def walk(parser: object, prefix: str) -> None:
        for action in getattr(parser, '_actions', []):
            choices = getattr(action, 'choices', None)
            if isinstance(choices, dict):
                for name, sub in choices.items():
                    text = sub.format_help()
                    assert text.startswith(f'usage: {prefix} {name}'), text
                    seen.append(f'{prefix} {name}')
                    walk(sub, f'{prefix} {name}')

    walk(build_parser(), 'actorkit')
    assert {
        'actorkit run',
        'actorkit push-data',
        'actorkit dataset export',
        'actorkit kv get',
    } <= set(seen)


def test_help_of_a_command_exits_0(tmp_path: Path) -> None:
    """``actorkit run --help`` prints the run command's help on stdout."""
    out = ok(cli(tmp_path, 'run', '--help')).decode()
    assert '--migrate-after' in out
    assert '--input-file' in out


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    """A bad command or option is one line on stderr and exit code 2."""
    for args in (('bogus',), ('dataset', 'show', '--limit', 'many'), ('charge',), ()):
        result = cli(tmp_path, *args)
        assert result.returncode == 2, args
        assert result.stdout == b''
        if args:
            assert len(result.stderr.decode().strip().splitlines()) == 1, result.stderr


def test_get_input_prints_the_input_as_json(tmp_path: Path) -> None:
    """get-input prints the default store's INPUT as JSON, for jq and friends."""
    store = tmp_path / 'storage' / 'key_value_stores' / 'default'
    store.mkdir(parents=True)
    (store / 'INPUT.json').write_text('{"url": "https://example.com", "n": 2}')
    assert json.loads(ok(cli(tmp_path, 'get-input'))) == {'url': 'https://example.com', 'n': 2}


def test_missing_input_and_record_exit_1_with_nothing_on_stdout(tmp_path: Path) -> None:
    """A missing input or record exits 1 and prints nothing."""
    for args in (('get-input',), ('get-value', 'NOPE')):
        result = cli(tmp_path, *args)
        assert (result.returncode, result.stdout) == (1, b''), args


def test_set_value_from_stdin_is_binary_safe(tmp_path: Path) -> None:
    """Bytes piped into set-value come back unchanged from get-value, as raw bytes."""
    body = bytes(range(256)) * 64 + b'\x00\r\n\xff'
    ok(cli(tmp_path, 'set-value', 'blob', '-', stdin=body))
    assert ok(cli(tmp_path, 'get-value', 'blob')) == body
    listed = json.loads(ok(cli(tmp_path, 'kv', 'list')))
    assert listed == [{'key': 'blob', 'size': len(body), 'contentType': 'application/octet-stream'}]


def test_set_value_stores_json_text_and_given_types(tmp_path: Path) -> None:
    """JSON is stored as JSON, other text as text, and --content-type wins."""
    ok(cli(tmp_path, 'set-value', 'obj', '{"a": [1, 2]}'))
    ok(cli(tmp_path, 'set-value', 'note', 'hello world'))
    ok(cli(tmp_path, 'set-value', 'page', '-', '--content-type', 'text/html', stdin=b'<p>hi</p>'))
    assert json.loads(ok(cli(tmp_path, 'get-value', 'obj'))) == {'a': [1, 2]}
    assert ok(cli(tmp_path, 'get-value', 'note')) == b'hello world'
    types = {r['key']: r['contentType'] for r in json.loads(ok(cli(tmp_path, 'kv', 'list')))}
    assert types == {
        'note': 'text/plain; charset=utf-8',
        'obj': 'application/json; charset=utf-8',
        'page': 'text/html',
    }


def test_set_value_refuses_a_bad_key_in_one_line(tmp_path: Path) -> None:
    """A key the platform refuses is one error line and exit 1."""
    result = cli(tmp_path, 'set-value', 'a/b', 'x')
    assert result.returncode == 1
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert 'a/b' in result.stderr.decode()


def test_push_data_takes_an_object_an_array_and_json_lines(tmp_path: Path) -> None:
    """push-data takes JSON on the command line, an array or JSON lines on stdin or a file."""
    ok(cli(tmp_path, 'push-data', '{"n": 1}'))
    ok(cli(tmp_path, 'push-data', '-', stdin=b'[{"n": 2}, {"n": 3}]'))
    ok(cli(tmp_path, 'push-data', stdin=b'{"n": 4}\n\n{"n": 5}\n{\n  "n": 6\n}\n'))
    (tmp_path / 'more.jsonl').write_bytes(b'{"n": 7}\n{"n": 8}\n')
    ok(cli(tmp_path, 'push-data', '@more.jsonl'))
    items = json.loads(ok(cli(tmp_path, 'dataset', 'show', '--limit', '100')))
    assert [item['n'] for item in items] == [1, 2, 3, 4, 5, 6, 7, 8]


def test_push_data_pushes_stdin_in_batches(tmp_path: Path) -> None:
    """Thousands of JSON lines on stdin are pushed in order, over several batches."""
    count = 1200
    lines = b''.join(b'{"i": %d}\n' % i for i in range(count))
    ok(cli(tmp_path, 'push-data', '-', stdin=lines))
    exported = ok(cli(tmp_path, 'dataset', 'export', '--format', 'jsonl')).splitlines()
    assert [json.loads(line)['i'] for line in exported] == list(range(count))


def test_json_items_are_read_a_chunk_at_a_time() -> None:
    """A huge stream yields its first items after reading about one chunk, not all of it."""

    class Endless(io.RawIOBase):
        def __init__(self) -> None:
            self.served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            line = b'{"text": "%s"}\n' % (b'z' * 100)
            data = line * (len(buffer) // len(line))
            buffer[: len(data)] = data
            self.served += len(data)
            return len(data)

    stream = Endless()
    items = iter(JsonItems(io.BufferedReader(stream), 'stdin'))
    first = [next(items) for _ in range(1000)]
    assert first[0] == {'text': 'z' * 100}
    assert stream.served < 1 << 20


def test_json_items_stream_an_array_split_across_chunks() -> None:
    """An array's items come one by one, even when numbers and strings cross chunk edges."""
    items = [{'n': i, 's': 'é' * (i % 7)} for i in range(30_000)]
    body = json.dumps(items).encode()
    assert list(JsonItems(io.BytesIO(body))) == items


def test_push_data_names_the_bad_line_and_keeps_earlier_items(tmp_path: Path) -> None:
    """A line that is not JSON is named in one error line; the items before it are kept."""
    result = cli(tmp_path, 'push-data', '-', stdin=b'{"n": 1}\n{"n": 2}\n{"n": oops}\n{"n": 4}\n')
    assert result.returncode == 1
    message = result.stderr.decode().strip()
    assert len(message.splitlines()) == 1
    assert 'line 3' in message
    assert '2 items before it were pushed' in message
    assert [i['n'] for i in json.loads(ok(cli(tmp_path, 'dataset', 'show')))] == [1, 2]


def test_push_data_refuses_items_that_are_not_objects(tmp_path: Path) -> None:
    """A number in the array is refused with a message naming the item."""
    result = cli(tmp_path, 'push-data', '[{"a": 1}, 2]')
    assert result.returncode == 1
    assert 'item 2 is not an object' in result.stderr.decode()


def test_commands_never_purge(tmp_path: Path) -> None:
    """Successive commands see what earlier ones wrote, even with purge on start set."""
    env = {'APIFY_PURGE_ON_START': 'true'}
    ok(cli(tmp_path, 'push-data', '{"n": 1}', env=env))
    ok(cli(tmp_path, 'set-value', 'k', '1', env=env))
    ok(cli(tmp_path, 'push-data', '{"n": 2}', env=env))
    assert json.loads(ok(cli(tmp_path, 'get-value', 'k', env=env))) == 1
    assert len(json.loads(ok(cli(tmp_path, 'dataset', 'show', env=env)))) == 2


@pytest.fixture
def dataset_of_three(tmp_path: Path) -> Path:
    """A default dataset of three items with differing fields."""
    items = [{'a': 1, 'b': 'x'}, {'a': 2, 'c': {'deep': [1, 2]}}, {'b': 'line\nbreak'}]
    ok(cli(tmp_path, 'push-data', json.dumps(items)))
    return tmp_path


def test_dataset_export_writes_json_jsonl_and_csv(dataset_of_three: Path) -> None:
    """export streams every item as JSON, JSON lines, or CSV with the union of the columns."""
    tmp_path = dataset_of_three
    as_json = json.loads(ok(cli(tmp_path, 'dataset', 'export')))
    assert len(as_json) == 3
    lines = ok(cli(tmp_path, 'dataset', 'export', '--format', 'jsonl')).decode().splitlines()
    assert [json.loads(line) for line in lines] == as_json
    ok(cli(tmp_path, 'dataset', 'export', '--format', 'csv', '-o', 'out.csv'))
    rows = list(csv.reader(io.StringIO((tmp_path / 'out.csv').read_text('utf-8'), newline='')))
    assert rows == [
        ['a', 'b', 'c'],
        ['1', 'x', ''],
        ['2', '', '{"deep":[1,2]}'],
        ['', 'line\nbreak', ''],
    ]


def test_dataset_export_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """``actorkit dataset export | head -1`` exits 0 without a traceback."""
    lines = b''.join(b'{"i": %d, "pad": "%s"}\n' % (i, b'y' * 300) for i in range(800))
    ok(cli(tmp_path, 'push-data', '-', stdin=lines))
    result = subprocess.run(
        f'"{sys.executable}" -m actorkit dataset export --format jsonl | head -1',
        shell=True,
        capture_output=True,
        env={**script_env(tmp_path), 'SHELLOPTS': ''},
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
        executable='/bin/bash',
    )
    assert json.loads(result.stdout)['i'] == 0
    assert result.stderr == b''
    piped = subprocess.run(
        [
            '/bin/bash',
            '-c',
            f'set -o pipefail; "{sys.executable}" -m actorkit dataset export --format jsonl'
            ' | head -1 > /dev/null',
        ],
        capture_output=True,
        env=script_env(tmp_path),
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )
    assert (piped.returncode, piped.stderr) == (0, b'')


def _on_a_terminal(tmp_path: Path, *args: str) -> str:
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, '-m', 'actorkit', *args],
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
            env={**script_env(tmp_path), 'COLUMNS': '120'},
            cwd=tmp_path,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(TIMEOUT) == 0
    finally:
        os.close(leader)
    return b''.join(chunks).decode()


def test_dataset_show_is_a_table_on_a_terminal(dataset_of_three: Path) -> None:
    """On a terminal, show prints a table with a header of the fields and a count line."""
    screen = _on_a_terminal(dataset_of_three, 'dataset', 'show')
    lines = screen.splitlines()
    assert lines[0].split() == ['#', 'a', 'b', 'c']
    assert 'line break' in screen
    assert '(items 1-3 of 3' in screen


def test_storages_lists_each_storage_with_counts_and_sizes(dataset_of_three: Path) -> None:
    """storages lists datasets, stores and queues with their counts and byte sizes (JSON)."""
    tmp_path = dataset_of_three
    ok(cli(tmp_path, 'set-value', 'k', '"v"'))
    ok(cli(tmp_path, 'set-value', 'k2', '2', '--store', 'other'))
    rows = json.loads(ok(cli(tmp_path, 'storages')))
    by_name = {(row['kind'], row['name']): row for row in rows}
    assert by_name['dataset', 'default']['itemCount'] == 3
    assert by_name['key-value store', 'default']['recordCount'] == 1
    assert by_name['key-value store', 'other']['recordCount'] == 1
    assert all(row['sizeBytes'] > 0 for row in rows)
    screen = _on_a_terminal(tmp_path, 'storages')
    assert '3 items' in screen


def test_kv_get_reads_a_named_store(tmp_path: Path) -> None:
    """kv get STORE KEY reads the named store; kv get KEY the default one."""
    ok(cli(tmp_path, 'set-value', 'k', '{"in": "other"}', '--store', 'other'))
    ok(cli(tmp_path, 'set-value', 'k', '{"in": "default"}'))
    assert json.loads(ok(cli(tmp_path, 'kv', 'get', 'other', 'k'))) == {'in': 'other'}
    assert json.loads(ok(cli(tmp_path, 'kv', 'get', 'k'))) == {'in': 'default'}


def test_inspecting_a_missing_storage_is_one_error_line(tmp_path: Path) -> None:
    """A storage that does not exist is named in one line, exit 1, and is not created."""
    result = cli(tmp_path, 'dataset', 'show', 'nope')
    assert result.returncode == 1
    assert result.stderr.decode().count('\n') == 1
    assert 'no dataset nope' in result.stderr.decode()
    assert not (tmp_path / 'storage' / 'datasets' / 'nope').exists()


def test_queue_stats_prints_the_counts(tmp_path: Path) -> None:
    """queue stats prints the counts of the default queue as JSON."""
    script = tmp_path / 'fill.py'
    script.write_text(
        'from actorkit import actor\n'
        'with actor:\n'
        '    rq = actor.open_request_queue()\n'
        "    rq.add_requests(['https://a.example/1', 'https://a.example/2'])\n"
        '    rq.mark_request_as_handled(rq.fetch_next_request())\n'
    )
    subprocess.run(
        [sys.executable, str(script)], env=script_env(tmp_path), check=True, timeout=TIMEOUT
    )
    stats = json.loads(ok(cli(tmp_path, 'queue', 'stats')))
    assert (stats['totalRequestCount'], stats['handledRequestCount']) == (2, 1)
    assert stats['isFinished'] is False


def test_exit_and_status_message_locally(tmp_path: Path) -> None:
    """exit ends with its code; off the platform messages go to stderr, not stdout."""
    result = cli(tmp_path, 'exit', '--code', '3', '--message', 'bye')
    assert (result.returncode, result.stdout) == (3, b'')
    assert 'bye' in result.stderr.decode()
    result = cli(tmp_path, 'set-status-message', 'working', '--terminal')
    assert (result.returncode, result.stdout) == (0, b'')
    result = cli(tmp_path, 'metamorph', 'someone/other')
    assert result.returncode == 0
    assert 'only works on the Apify platform' in result.stderr.decode()


def test_charge_locally_counts_against_the_budget(tmp_path: Path) -> None:
    """charge prints the result as JSON and logs the charge in the local charging log."""
    pricing = {
        'pricingModel': 'PAY_PER_EVENT',
        'pricingPerEvent': {'actorChargeEvents': {'page': {'eventPriceUsd': 0.1}}},
    }
    env = {'APIFY_ACTOR_PRICING_INFO': json.dumps(pricing), 'ACTOR_MAX_TOTAL_CHARGE_USD': '0.25'}
    first = json.loads(ok(cli(tmp_path, 'charge', 'page', '--count', '2', env=env)))
    assert first['chargedCount'] == 2
    second = json.loads(ok(cli(tmp_path, 'charge', 'page', '--count', '2', env=env)))
    assert second == {
        'chargedCount': 0,
        'eventChargeLimitReached': True,
        'chargeableWithinLimit': {'page': 0},
    }
    result = cli(tmp_path, 'charge', 'nonsense', env=env)
    assert result.returncode == 1
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_local_commands_never_import_requests(tmp_path: Path) -> None:
    """The local commands run without loading requests or websocket."""
    code = (
        'import sys\n'
        'from actorkit.cli import main\n'
        "assert main(['push-data', '{\"a\": 1}']) == 0\n"
        "assert main(['set-value', 'k', 'v']) == 0\n"
        "assert main(['storages', '--json']) == 0\n"
        "assert main(['dataset', 'export', '--format', 'csv', '-o', 'x.csv']) == 0\n"
        "bad = [m for m in ('requests', 'websocket', 'urllib3') if m in sys.modules]\n"
        'assert not bad, bad\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        env=script_env(tmp_path),
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()


def test_progress_draws_only_on_a_terminal() -> None:
    """The progress bar writes to a terminal and stays silent on a pipe."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    with Progress('exporting', 10, stream=terminal) as progress:
        progress.update(5)
    assert '[###############' in terminal.getvalue()
    assert '5/10 items' in terminal.getvalue()
    pipe = io.StringIO()
    with Progress('exporting', 10, stream=pipe) as progress:
        progress.update(5)
    assert pipe.getvalue() == ''


def test_the_console_script_is_declared() -> None:
    """The installed package declares ``actorkit = actorkit.cli:main``."""
    from importlib.metadata import entry_points

    (script,) = entry_points(group='console_scripts', name='actorkit')
    assert script.value == 'actorkit.cli:main'


def test_run_arguments_after_the_script_belong_to_it() -> None:
    """Options after SCRIPT.py or -m MODULE go to the script, not to actorkit run."""
    from actorkit.cli._main import _split_run

    assert _split_run(['run', '--input', '{}', 's.py', '--input', 'x']) == (
        ['run', '--input', '{}', 's.py'],
        ['--input', 'x'],
    )
    assert _split_run(['run', '--no-purge', '-m', 'job', '-m', 'y']) == (
        ['run', '--no-purge', '-m', 'job'],
        ['-m', 'y'],
    )
    assert _split_run(['run', '--', '-odd.py', 'a']) == (['run', '--', '-odd.py'], ['a'])
    assert _split_run(['push-data', '-']) == (['push-data', '-'], None)
