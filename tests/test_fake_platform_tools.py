"""FakePlatform's tools: the command line, the pytest fixture, the spec file, thread safety."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from actorkit.testing import FakePlatform
from tests._fake_platform_spec import spec_checked_platform  # noqa: F401 (its ``platform``)
from tests._subprocess import TIMEOUT, script_env, write_script

FULL_SPEC = Path('/work/shared/spec/apify-api-v2.openapi.json')


def test_command_line_prints_exports_and_stops_quietly_on_ctrl_c(tmp_path: Path) -> None:
    """python -m actorkit.testing prints eval-able exports, serves, exits 0 on SIGINT."""
    process = subprocess.Popen(
        [sys.executable, '-m', 'actorkit.testing', '--input', '{"q": "it\'s"}'],
        env=script_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith('#'):
                break
            name, _, value = line.removeprefix('export ').rstrip('\n').partition('=')
            [exports[name]] = shlex.split(value)
        record = requests.get(
            f'{exports["APIFY_API_BASE_URL"]}/v2/key-value-stores/'
            f'{exports["ACTOR_DEFAULT_KEY_VALUE_STORE_ID"]}/records/INPUT',
            params={'token': exports['APIFY_TOKEN']},
            timeout=5,
        )
        assert record.json() == {'q': "it's"}
        assert exports['APIFY_IS_AT_HOME'] == '1'
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert 'Traceback' not in stderr
    assert stderr == ''


def test_command_line_refuses_bad_input(tmp_path: Path) -> None:
    """Input that is not JSON is refused with exit 2 and a message."""
    result = subprocess.run(
        [sys.executable, '-m', 'actorkit.testing', '--input', '{nope'],
        env=script_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 2
    assert '--input is not valid JSON' in result.stderr


def test_fake_platform_fixture_comes_from_the_plugin(tmp_path: Path) -> None:
    """An installed actorkit gives any pytest run the fake_platform fixture."""
    write_script(
        tmp_path,
        """
        import requests

        def test_uses_it(fake_platform):
            env = fake_platform.run_env(input={'a': 1})
            url = f"{env['APIFY_API_BASE_URL']}/v2/actor-runs/{env['ACTOR_RUN_ID']}"
            run = requests.get(url, params={'token': env['APIFY_TOKEN']}).json()['data']
            assert run['status'] == 'RUNNING'
        """,
        name='test_plugin_use.py',
    )
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test_plugin_use.py'],
        cwd=tmp_path,
        env=script_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '1 passed' in result.stdout


def test_plugin_and_testing_package_import_light(tmp_path: Path) -> None:
    """Loading the plugin or actorkit.testing imports neither requests nor the fake platform."""
    probe = (
        'import sys, actorkit.testing._pytest_plugin, actorkit.testing\n'
        'print(sorted(m for m in sys.modules if m.startswith(("requests", "urllib3", '
        '"actorkit.testing._fake_platform", "http.server"))))\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', probe],
        env=script_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert result.stdout.strip() == '[]'


@pytest.mark.skipif(not FULL_SPEC.exists(), reason='the full OpenAPI spec is not on this machine')
def test_operations_file_matches_the_spec() -> None:
    """tests/data lists exactly the operations of the bundled OpenAPI spec."""
    from tests._fake_platform_spec import OPERATIONS_FILE, load_operations

    spec = json.loads(FULL_SPEC.read_text())
    methods = {'get', 'post', 'put', 'delete', 'head', 'patch', 'options'}
    expected = sorted(
        (method.upper(), path)
        for path, item in spec['paths'].items()
        for method in item
        if method in methods
    )
    assert sorted(load_operations()) == expected, f'regenerate {OPERATIONS_FILE}'


def test_concurrent_pushes_and_writes_lose_nothing(platform: FakePlatform) -> None:
    """Many threads pushing items and writing records at once: every write lands."""
    dataset_id = platform.create_dataset()
    store_id = platform.create_key_value_store()
    sessions = threading.local()

    def work(n: int) -> None:
        if not hasattr(sessions, 'session'):
            sessions.session = requests.Session()
            sessions.session.params = {'token': platform.token}
        session = sessions.session
        pushed = session.post(
            f'{platform.api_url}/v2/datasets/{dataset_id}/items', json=[{'n': n}, {'n': -n}]
        )
        stored = session.put(
            f'{platform.api_url}/v2/key-value-stores/{store_id}/records/k{n}',
            data=str(n),
            headers={'Content-Type': 'text/plain'},
        )
        assert (pushed.status_code, stored.status_code) == (201, 201)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(200)))
    items = platform.dataset_items(dataset_id)
    assert sorted(item['n'] for item in items) == sorted([*range(200), *(-n for n in range(200))])
    assert all(
        platform.record(store_id, f'k{n}') == (str(n).encode(), 'text/plain') for n in range(200)
    )


def test_concurrent_consumers_lock_each_request_once(platform: FakePlatform) -> None:
    """Eight clients taking head locks at once never get the same request twice."""
    queue_id = platform.create_request_queue()
    base = f'{platform.api_url}/v2/request-queues/{queue_id}'
    params = {'token': platform.token}
    for start in range(0, 300, 25):
        batch = [
            {'url': f'https://e.com/{n}', 'uniqueKey': str(n)} for n in range(start, start + 25)
        ]
        requests.post(base + '/requests/batch', params=params, json=batch).raise_for_status()

    def consume(client: int) -> list[str]:
        taken: list[str] = []
        with requests.Session() as session:
            while True:
                head = session.post(
                    base + '/head/lock',
                    params={**params, 'lockSecs': 60, 'limit': 7, 'clientKey': f'c{client}'},
                ).json()['data']
                if not head['items']:
                    return taken
                taken += [item['uniqueKey'] for item in head['items']]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(consume, range(8)))
    everything = [key for taken in results for key in taken]
    assert sorted(everything, key=int) == [str(n) for n in range(300)]


def test_environment_is_ready_for_a_subprocess(platform: FakePlatform, tmp_path: Path) -> None:
    """A process started with run_env reaches the platform as its run."""
    env = platform.run_env(input={'greeting': 'hi'})
    path = write_script(
        tmp_path,
        """
        import json, os, urllib.request
        base = os.environ['APIFY_API_BASE_URL']
        store = os.environ['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']
        request = urllib.request.Request(
            f'{base}/v2/key-value-stores/{store}/records/{os.environ["ACTOR_INPUT_KEY"]}',
            headers={'Authorization': 'Bearer ' + os.environ['APIFY_TOKEN']},
        )
        greeting = json.load(urllib.request.urlopen(request))['greeting']
        push = urllib.request.Request(
            f'{base}/v2/datasets/{os.environ["ACTOR_DEFAULT_DATASET_ID"]}/items',
            data=json.dumps({'said': greeting}).encode(),
            headers={'Authorization': 'Bearer ' + os.environ['APIFY_TOKEN'],
                     'Content-Type': 'application/json'},
        )
        urllib.request.urlopen(push)
        """,
    )
    result = subprocess.run(
        [sys.executable, str(path)],
        env={**script_env(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [{'said': 'hi'}]
    assert os.environ.get('ACTOR_RUN_ID') != env['ACTOR_RUN_ID']


def test_every_route_is_an_operation_of_the_spec() -> None:
    """Each (method, path template) the fake serves is an operation of the API v2 spec."""
    from tests._fake_platform_spec import load_operations

    def shape(template: str) -> str:
        return re.sub(r'\{\w+\}', '{}', template)

    spec = {(method, shape(template)) for method, template in load_operations()}
    served = FakePlatform()._router.templates()
    assert len(served) > 80
    assert [route for route in served if (route[0], shape(route[1])) not in spec] == []
