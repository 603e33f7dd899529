"""The ``actorkit`` command at home: the same commands against the FakePlatform's API."""

from __future__ import annotations

import json
from pathlib import Path

from actorkit.testing import FakePlatform
from tests._cli import cli, ok


def test_values_at_home_go_through_the_api(tmp_path: Path, fake_platform: FakePlatform) -> None:
    """get-input, set-value/get-value and push-data use the run's storages, none locally."""
    env = fake_platform.run_env(input={'url': 'https://example.com'})
    store = env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']
    assert json.loads(ok(cli(tmp_path, 'get-input', env=env))) == {'url': 'https://example.com'}
    body = bytes(range(256))
    ok(cli(tmp_path, 'set-value', 'blob', '-', stdin=body, env=env))
    assert fake_platform.record(store, 'blob') == (body, 'application/octet-stream')
    assert ok(cli(tmp_path, 'get-value', 'blob', env=env)) == body
    missing = cli(tmp_path, 'get-value', 'nothing', env=env)
    assert (missing.returncode, missing.stdout) == (1, b'')
    ok(cli(tmp_path, 'push-data', '-', stdin=b'{"n": 1}\n{"n": 2}\n', env=env))
    assert fake_platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [{'n': 1}, {'n': 2}]
    assert json.loads(ok(cli(tmp_path, 'dataset', 'show', env=env))) == [{'n': 1}, {'n': 2}]
    exported = ok(cli(tmp_path, 'dataset', 'export', '--format', 'csv', env=env))
    assert exported.decode().splitlines() == ['n', '1', '2']
    keys = {row['key'] for row in json.loads(ok(cli(tmp_path, 'kv', 'list', env=env)))}
    assert keys == {'INPUT', 'blob'}
    stats = json.loads(ok(cli(tmp_path, 'queue', 'stats', env=env)))
    assert (stats['id'], stats['totalRequestCount']) == (env['ACTOR_DEFAULT_REQUEST_QUEUE_ID'], 0)
    rows = json.loads(ok(cli(tmp_path, 'storages', env=env)))
    assert {row['kind']: row['id'] for row in rows} == {
        'dataset': env['ACTOR_DEFAULT_DATASET_ID'],
        'key-value store': store,
        'request queue': env['ACTOR_DEFAULT_REQUEST_QUEUE_ID'],
    }
    assert not (tmp_path / 'storage').exists()


def test_status_and_exit_at_home_update_the_run(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    """set-status-message sets the run's message; exit sets the terminal one and the code."""
    env = fake_platform.run_env()
    run_id = env['ACTOR_RUN_ID']
    ok(cli(tmp_path, 'set-status-message', 'halfway', env=env))
    run = fake_platform.run(run_id)
    assert (run['statusMessage'], run['isStatusMessageTerminal']) == ('halfway', False)
    result = cli(tmp_path, 'exit', '--code', '2', '--message', 'gave up: no pages', env=env)
    assert result.returncode == 2
    run = fake_platform.run(run_id)
    assert (run['statusMessage'], run['isStatusMessageTerminal']) == ('gave up: no pages', True)


def test_charge_and_metamorph_at_home(tmp_path: Path, fake_platform: FakePlatform) -> None:
    """charge charges the run through the API; metamorph turns it into the target Actor."""
    env = fake_platform.run_env(pricing_info={'page': '0.10'}, max_total_charge_usd='1')
    run_id = env['ACTOR_RUN_ID']
    result = json.loads(ok(cli(tmp_path, 'charge', 'page', '--count', '3', env=env)))
    assert result['chargedCount'] == 3
    assert [(c.event_name, c.count) for c in fake_platform.charges(run_id)] == [('page', 3)]
    fake_platform.create_actor('other')
    target = f'{fake_platform.username}/other'
    ok(cli(tmp_path, 'metamorph', target, '--input', '{"q": 1}', env=env))
    metamorphs = fake_platform.run(run_id)['metamorphs']
    assert len(metamorphs) == 1
    record = fake_platform.record(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], 'INPUT-METAMORPH-1')
    assert record is not None
    assert json.loads(record[0]) == {'q': 1}


def test_api_errors_at_home_are_one_line_without_the_token(
    tmp_path: Path, fake_platform: FakePlatform
) -> None:
    """A refused call is one error line and exit 1, and never shows the token."""
    env = fake_platform.run_env()
    result = cli(tmp_path, 'metamorph', 'nobody/missing', env=env)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert len(err.strip().splitlines()) == 1, err
    assert env['APIFY_TOKEN'] not in err
