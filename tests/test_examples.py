"""Every example in examples/ runs as a user would run it, and does what its docstring says.

The Django and Flask examples are run by tests/integrations (they need the frameworks).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _local_storage import dataset_items, write_input
from _subprocess import TIMEOUT, describe, script_env, wait_for_line

EXAMPLES = Path(__file__).resolve().parent.parent / 'examples'


def record(storage: Path, key: str) -> Any:
    """A JSON record of the default key-value store."""
    return json.loads((storage / 'key_value_stores' / 'default' / key).read_text('utf-8'))


def run_example(
    tmp_path: Path, *args: str, env: dict[str, str | None] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` with the test environment (storage under tmp_path)."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd or tmp_path,
        env=script_env(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_legacy_script_resumes_after_being_killed(tmp_path: Path) -> None:
    """Killed with SIGKILL half-way and started again, the script does each number once."""
    storage = tmp_path / 'storage'
    write_input(storage, {'count': 30, 'delay': 0.02})
    script = str(EXAMPLES / 'legacy_script.py')
    first = subprocess.Popen(
        [sys.executable, script],
        cwd=tmp_path,
        env=script_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(first, 'processed 9')
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=TIMEOUT)
    assert first.returncode == -signal.SIGKILL
    killed_at = len(dataset_items(storage))
    assert 10 <= killed_at < 30

    # A restarted run keeps its storage (locally: purge off, as `actorkit run` migrations do).
    second = run_example(tmp_path, script, env={'APIFY_PURGE_ON_START': '0'})
    assert second.returncode == 0, describe(second)
    assert f'start 2: {killed_at} of 30 numbers already done' in second.stdout
    assert 'processed 0\n' not in second.stdout
    items = dataset_items(storage)
    assert sorted(item['number'] for item in items) == list(range(30))
    assert all(item['square'] == item['number'] ** 2 for item in items)
    assert record(storage, 'OUTPUT') == {
        'count': 30,
        'sum_of_squares': sum(n * n for n in range(30)),
        'starts': 2,
    }


def test_thread_pool_crawler_crawls_its_own_site_once_per_page(tmp_path: Path) -> None:
    """The crawler's workers share one queue: every page of its local site is pushed once."""
    write_input(tmp_path / 'storage', {'pages': 40, 'workers': 4})
    result = run_example(tmp_path, str(EXAMPLES / 'crawler.py'))
    assert result.returncode == 0, describe(result)
    assert 'crawled 40 pages' in result.stdout
    items = dataset_items(tmp_path / 'storage')
    assert sorted(item['title'] for item in items) == sorted(f'Page {n}' for n in range(40))
    assert len({item['url'] for item in items}) == 40
    assert len({item['thread'] for item in items}) > 1  # the pool did share the work
    assert record(tmp_path / 'storage', 'OUTPUT') == {'handled': 40}


def test_actor_folder_runs_as_apify_run_runs_it(tmp_path: Path) -> None:
    """`python -m src` with the environment `apify run` sets: schema defaults, then CLI input."""
    actor_dir = tmp_path / 'actor'
    shutil.copytree(EXAMPLES / 'actor', actor_dir)
    storage = actor_dir / 'storage'
    apify_run_env: dict[str, str | None] = {
        'APIFY_LOCAL_STORAGE_DIR': str(storage),
        'CRAWLEE_STORAGE_DIR': str(storage),
        'ACTOR_INPUT_KEY': 'INPUT',
        'APIFY_INPUT_KEY': 'INPUT',
        'CRAWLEE_INPUT_KEY': 'INPUT',
        'CRAWLEE_PURGE_ON_START': '1',
    }
    # No input at all: the input schema's defaults make the input.
    result = run_example(tmp_path, '-m', 'src', env=apify_run_env, cwd=actor_dir)
    assert result.returncode == 0, describe(result)
    assert [item['word'] for item in dataset_items(storage)] == ['actor', 'python', 'blocking']
    assert record(storage, 'OUTPUT') == {'words': 3, 'letters': 19}

    # `apify run -i '{...}'`: the input under __CLI_INPUT, purge off; defaults still merged.
    write_input(storage, {'words': ['a', 'tea', 'kettle']}, key='__CLI_INPUT')
    cli_env = {
        **apify_run_env,
        'ACTOR_INPUT_KEY': '__CLI_INPUT',
        'APIFY_INPUT_KEY': '__CLI_INPUT',
        'CRAWLEE_INPUT_KEY': '__CLI_INPUT',
        'CRAWLEE_PURGE_ON_START': '0',
    }
    result = run_example(tmp_path, '-m', 'src', env=cli_env, cwd=actor_dir)
    assert result.returncode == 0, describe(result)
    words = [item['word'] for item in dataset_items(storage)]
    assert words == ['actor', 'python', 'blocking', 'a', 'tea', 'kettle']

    # An input the schema refuses fails the run before any work, naming the field.
    write_input(storage, {'words': ['tea'], 'minLetters': 0}, key='__CLI_INPUT')
    result = run_example(tmp_path, '-m', 'src', env=cli_env, cwd=actor_dir)
    assert result.returncode == 91, describe(result)
    assert 'minLetters' in result.stderr


# The fields of .actor/actor.json in the Actor specification (docs.apify.com, "actor.json").
ACTOR_JSON_FIELDS = {
    'actorSpecification',
    'name',
    'title',
    'description',
    'version',
    'buildTag',
    'environmentVariables',
    'dockerfile',
    'dockerContextDir',
    'readme',
    'input',
    'output',
    'changelog',
    'storages',
    'minMemoryMbytes',
    'maxMemoryMbytes',
    'defaultMemoryMbytes',
    'usesStandbyMode',
    'webServerSchema',
    'webServerMcpPath',
}


def test_actor_folder_definition_is_valid() -> None:
    """actor.json uses known fields with valid values; the schema and Dockerfile fit it."""
    from actorkit.storages._input_schema import check_input_schema, find_input_schema

    folder = EXAMPLES / 'actor'
    definition = json.loads((folder / '.actor' / 'actor.json').read_text('utf-8'))
    assert set(definition) <= ACTOR_JSON_FIELDS, set(definition) - ACTOR_JSON_FIELDS
    assert definition['actorSpecification'] == 1
    assert isinstance(definition['name'], str)
    assert definition['name'].replace('-', '').isalnum()
    assert definition['name'] == definition['name'].lower()
    major, minor = definition['version'].split('.')
    assert major.isdigit()
    assert minor.isdigit()
    assert (folder / '.actor' / definition['input']).is_file()
    dockerfile = (folder / '.actor' / definition['dockerfile']).read_text('utf-8')

    found = find_input_schema(folder)
    assert found is not None
    schema, path = found
    assert path.name == 'input_schema.json'
    assert check_input_schema(schema) == []
    assert schema['schemaVersion'] == 1
    for field in schema['properties'].values():
        assert {'title', 'type', 'description'} <= set(field)

    assert dockerfile.splitlines()[1] == 'FROM apify/actor-python:3.11'
    assert 'pip install --no-cache-dir -r requirements.txt' in dockerfile
    assert 'CMD ["python3", "-m", "src"]' in dockerfile
    assert (folder / 'requirements.txt').read_text('utf-8').split() == ['actorkit']
    assert (folder / 'src' / '__main__.py').is_file()  # what `apify run` runs: python -m src


def _cli_is_there() -> bool:
    try:
        import actorkit.cli._main  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _cli_is_there(), reason='the actorkit command is not built yet')
def test_shell_script_uses_the_command_line_tools(tmp_path: Path) -> None:
    """The shell example reads its input and writes items, records and its status via actorkit."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    shim = bin_dir / 'actorkit'
    # The `actorkit` console script of this interpreter, whether or not it is installed.
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m actorkit "$@"\n', encoding='utf-8')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    storage = tmp_path / 'storage'
    write_input(storage, {'words': ['apple', 'banana', 'kiwi']})
    result = subprocess.run(
        ['sh', str(EXAMPLES / 'shell' / 'word_pipeline.sh')],
        cwd=tmp_path,
        env=script_env(
            tmp_path,
            {'PATH': f'{bin_dir}{os.pathsep}{os.environ["PATH"]}', 'PYTHON': sys.executable},
        ),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, describe(result)
    assert dataset_items(storage) == [
        {'word': 'apple', 'letters': 5},
        {'word': 'banana', 'letters': 6},
        {'word': 'kiwi', 'letters': 4},
    ]
    assert record(storage, 'SUMMARY') == {'words': 3}
    blob = storage / 'key_value_stores' / 'default' / 'BLOB'
    assert blob.read_bytes() == b'raw\x00bytes'
    assert 'NOT-THERE is not set, as expected' in result.stdout
    assert 'summary: {"words": 3}' in result.stdout
    assert 'Pushed 3 words (terminal)' in result.stderr


def test_notebook_runs_in_a_real_kernel(tmp_path: Path) -> None:
    """The example notebook runs top to bottom: progress, HTML tables, re-init, exit."""
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kernels = tmp_path / 'kernels'
    write_kernel_spec(kernels / 'actorkit-example')
    notebook = nbformat.read(EXAMPLES / 'notebook.ipynb', as_version=4)
    manager = KernelManager(
        kernel_name='actorkit-example',
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
    )
    client = nbclient.NotebookClient(
        notebook,
        km=manager,
        timeout=int(TIMEOUT),
        startup_timeout=int(TIMEOUT),
        resources={'metadata': {'path': str(tmp_path)}},
    )
    client.execute(env=script_env(tmp_path))
    code = [cell for cell in notebook.cells if cell.cell_type == 'code']

    def outputs(cell: Any, mime: str) -> str:
        return ''.join(
            output.get('data', {}).get(mime, '') if 'data' in output else output.get('text', '')
            for output in cell.outputs
            if mime in output.get('data', {}) or (mime == 'text' and 'text' in output)
        )

    squares = code[1]
    if importlib.util.find_spec('ipywidgets') is None:
        assert "'Squaring: 25/25 (100%)'" in outputs(squares, 'text/plain')
    else:
        states = notebook.metadata['widgets']['application/vnd.jupyter.widget-state+json']
        assert 'Squaring: 25/25 (100%)' in json.dumps(states)
    table = outputs(squares, 'text/html')
    assert '25 items' in table
    assert '&lt;3&gt;' in table
    assert 'and 15 more' in table
    assert '<td>OUTPUT</td>' in outputs(code[2], 'text/html')
    assert '<td>1</td><td>1</td><td>2</td>' in outputs(code[3], 'text/html')
    assert outputs(code[4], 'text/plain') == 'True'
    assert 'finishing the previous run' in outputs(code[4], 'text')
    assert 'the run ended; the kernel goes on: True' in outputs(code[5], 'text')
