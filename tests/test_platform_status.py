"""The run at home: status messages, state saved through the API, API errors, new_client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from actorkit import Actor, Event, StorageLimitError
from actorkit.client import ApifyApiError
from actorkit.storages._dataset import Dataset
from actorkit.storages._key_value_store import KeyValueStore
from actorkit.storages._platform import PlatformStorageBackend
from actorkit.testing import FakePlatform, emit, wait_for_listeners
from tests._subprocess import describe, run_script


def _status_puts(platform: FakePlatform, run_id: str) -> list[tuple[str, bool]]:
    """The status messages the run received, in order, as (message, is_terminal)."""
    sent = []
    for request in platform.received_details:
        if request.method == 'PUT' and request.path == f'/v2/actor-runs/{run_id}':
            body = json.loads(request.body or b'{}')
            sent.append((body['statusMessage'], bool(body.get('isStatusMessageTerminal'))))
    return sent


def test_status_messages_are_sent_only_when_they_change(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """Setting the same message again sends nothing; the run shows the latest one."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    for message in ('Crawling', 'Crawling', 'Crawled 1 page', 'Crawled 1 page'):
        actor.set_status_message(message)
    assert _status_puts(platform, run_id) == [('Crawling', False), ('Crawled 1 page', False)]
    assert platform.run(run_id)['statusMessage'] == 'Crawled 1 page'


def test_exit_sends_the_default_terminal_message_last(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """exit() without a message sends 'Actor finished with exit code 0' as terminal."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    actor.set_status_message('Working')
    actor.exit()
    assert _status_puts(platform, run_id) == [
        ('Working', False),
        ('Actor finished with exit code 0', True),
    ]
    run = platform.run(run_id)
    assert run['statusMessage'] == 'Actor finished with exit code 0'
    assert run['isStatusMessageTerminal'] is True


def test_an_explicit_terminal_message_is_kept(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """A terminal message set before exit() is not replaced by the default one."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    actor.set_status_message('All 3 pages done', is_terminal=True)
    actor.exit()
    assert _status_puts(platform, run_id) == [('All 3 pages done', True)]


def test_a_refused_status_message_raises_the_api_error(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """A status PUT the platform refuses raises to the caller; the next message is sent."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    platform.inject_faults(status=400, times=1, path=f'/actor-runs/{run_id}', method='PUT')
    with pytest.raises(ApifyApiError) as caught:
        actor.set_status_message('Refused')
    assert caught.value.status_code == 400
    actor.set_status_message('Accepted')
    assert platform.run(run_id)['statusMessage'] == 'Accepted'


SCRIPT_FAIL = """
from actorkit import actor
with actor:
    actor.set_status_message('Starting')
    raise RuntimeError('boom')
"""

SCRIPT_FAIL_EXPLICIT = """
from actorkit import actor
actor.init()
actor.fail(status_message='Input has no URLs: add some', exit_code=3)
"""


@pytest.mark.parametrize(
    ('source', 'code', 'message'),
    [
        (SCRIPT_FAIL, 91, 'Actor finished with exit code 91'),
        (SCRIPT_FAIL_EXPLICIT, 3, 'Input has no URLs: add some'),
    ],
)
def test_a_failing_process_sends_its_terminal_message_before_it_ends(
    platform: FakePlatform, tmp_path: Path, source: str, code: int, message: str
) -> None:
    """A failed run's last status PUT is terminal and says why, before the process ends."""
    env = platform.run_env()
    result = run_script(tmp_path, source, env=env)
    assert result.returncode == code, describe(result)
    puts = _status_puts(platform, env['ACTOR_RUN_ID'])
    assert puts[-1] == (message, True)
    assert all(not terminal for _, terminal in puts[:-1])


def test_a_slow_status_put_never_lands_after_the_terminal_one(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """While a slow message is in flight, the terminal one waits for it and is sent last."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    fault = platform.inject_faults(
        status=None, delay=0.5, times=1, path=f'/actor-runs/{run_id}', method='PUT'
    )
    setter = threading.Thread(target=actor.set_status_message, args=('Slow news',))
    setter.start()
    deadline = time.monotonic() + 10
    while fault.triggered == 0:
        assert time.monotonic() < deadline, 'the slow status PUT never arrived'
        time.sleep(0.01)
    actor.set_status_message('Newer, dropped if stale')
    actor.exit(status_message='Done')
    setter.join(10)
    puts = _status_puts(platform, run_id)
    assert puts[0] == ('Slow news', False)
    assert puts[-1] == ('Done', True)
    assert platform.run(run_id)['statusMessage'] == 'Done'


def test_use_state_is_saved_through_the_api_on_persist_state_and_at_exit(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """The state record is written to the default store at PERSIST_STATE and at exit."""
    actor = home_actor()
    store_id = str(actor.config.default_key_value_store_id)
    state = actor.use_state({'done': 0})
    named = actor.open_key_value_store(name='progress').get_auto_saved_value('cursor', {'at': 0})
    state['done'] = 5
    named['at'] = 7
    emit(Event.PERSIST_STATE, actor=actor)
    wait_for_listeners(actor=actor)
    assert platform.record(store_id, 'APIFY_GLOBAL_STATE') is not None
    assert json.loads(platform.record(store_id, 'APIFY_GLOBAL_STATE')[0]) == {'done': 5}  # type: ignore[index]
    assert json.loads(platform.record('progress', 'cursor')[0]) == {'at': 7}  # type: ignore[index]
    state['done'] = 6
    actor.exit()
    assert json.loads(platform.record(store_id, 'APIFY_GLOBAL_STATE')[0]) == {'done': 6}  # type: ignore[index]


def test_state_of_a_previous_attempt_is_loaded(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """After a migration the run's process finds the state the previous process saved."""
    env = platform.run_env()
    first = home_actor(env)
    first.use_state()['page'] = 3
    first.exit()
    assert home_actor(env).use_state({'page': 0}) == {'page': 3}


def test_an_api_failure_after_the_retries_reaches_the_caller(
    fast_backend: PlatformStorageBackend, platform: FakePlatform
) -> None:
    """A push that fails on every attempt raises the API error; nothing is stored twice."""
    dataset = Dataset(fast_backend.open_dataset())
    store = KeyValueStore(fast_backend.open_key_value_store())
    fault = platform.inject_faults(status=503, times=3, path='/items', method='POST')
    with pytest.raises(ApifyApiError) as caught:
        dataset.push_data({'n': 1})
    assert caught.value.status_code == 503
    assert fault.triggered == 3
    platform.inject_faults(status=500, times=2, path='/records/', method='PUT')
    store.set_value('k', 'survives two failures')
    assert store.get_value('k') == 'survives two failures'
    dataset.push_data({'n': 2})
    assert dataset.list_items() == [{'n': 2}]
    platform.inject_faults(status=403, times=1, path='/records/')
    with pytest.raises(ApifyApiError) as refused:
        store.get_value('k')
    assert refused.value.status_code == 403


def test_pushes_are_split_under_the_body_limit_in_order(
    fast_backend: PlatformStorageBackend, platform: FakePlatform
) -> None:
    """A 20 MB push arrives as a few requests, each under 9,437,184 bytes, items in order."""
    dataset = Dataset(fast_backend.open_dataset())
    items = [{'n': n, 'blob': 'x' * 100_000} for n in range(200)]
    platform.clear_received()
    dataset.push_data(items)
    bodies = [
        r.body
        for r in platform.received_details
        if r.method == 'POST' and r.path.endswith('/items')
    ]
    assert len(bodies) == 3
    assert all(body is not None and len(body) < 9_437_184 for body in bodies)
    assert [item['n'] for body in bodies for item in json.loads(body or b'')] == list(range(200))
    assert platform.dataset_items(dataset.id) == items
    small = [{'n': n} for n in range(1000)]
    platform.clear_received()
    dataset.push_data(small)
    assert len([r for r in platform.received if r.path.endswith('/items')]) == 1


def test_an_oversized_item_is_refused_before_anything_is_sent(
    fast_backend: PlatformStorageBackend, platform: FakePlatform
) -> None:
    """One item over the limit fails the push, naming its index, with no request made."""
    dataset = Dataset(fast_backend.open_dataset())
    platform.clear_received()
    with pytest.raises(StorageLimitError, match='dataset item 2 '):
        dataset.push_data([{'n': 0}, {'n': 1}, {'blob': 'x' * 9_437_184}])
    assert [r for r in platform.received if r.path.endswith('/items')] == []
    assert platform.dataset_items(dataset.id) == []


def test_new_client_is_configured_from_the_run(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """actor.new_client() talks to the run's API with its token; arguments override them."""
    actor = home_actor()
    client = actor.new_client()
    store = client.key_value_store(str(actor.config.default_key_value_store_id)).get()
    assert store is not None
    assert platform.token not in repr(client)
    other = actor.new_client(token='wrong-token', max_retries=0, timeout=5)
    with pytest.raises(ApifyApiError) as caught:
        other.key_value_store(str(actor.config.default_key_value_store_id)).get()
    assert caught.value.status_code == 401
    assert 'wrong-token' not in str(caught.value)


LOCAL_RUN = """
import atexit, json, sys

def report():
    loaded = [m for m in sys.modules if m in ('requests', 'urllib3')
              or m.startswith(('actorkit.client', 'actorkit.storages._platform'))]
    print(json.dumps(sorted(loaded)))

atexit.register(report)  # runs after the Actor's own exit hook

from actorkit import actor
with actor:
    actor.push_data({'n': 1})
    actor.set_value('OUT', {'ok': True})
    queue = actor.open_request_queue()
    queue.add_request('https://example.com')
    queue.mark_request_as_handled(queue.fetch_next_request())
    actor.set_status_message('local')
"""


def test_a_local_run_never_loads_requests_or_the_platform_backend(tmp_path: Path) -> None:
    """Running locally with every storage used imports neither requests nor platform code."""
    result = run_script(tmp_path, LOCAL_RUN)
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


FORCE_CLOUD = """
from actorkit import actor
with actor:
    cloud = actor.open_dataset(name='shared-results', force_cloud=True)
    cloud.push_data({'from': 'local'})
    local = actor.open_dataset()
    local.push_data({'stays': 'local'})
    print(cloud.id, local.id)
"""


def test_force_cloud_opens_platform_storages_from_a_local_run(
    platform: FakePlatform, tmp_path: Path
) -> None:
    """A local run with a token opens a platform dataset with force_cloud=True."""
    env: dict[str, str | None] = {
        'APIFY_TOKEN': platform.token,
        'APIFY_API_BASE_URL': platform.api_url,
    }
    result = run_script(tmp_path, FORCE_CLOUD, env=env)
    assert result.returncode == 0, describe(result)
    cloud_id, _ = result.stdout.split()
    assert platform.dataset_items(cloud_id) == [{'from': 'local'}]
    assert platform.dataset_items('shared-results') == [{'from': 'local'}]
    assert (tmp_path / 'storage' / 'datasets' / 'default').is_dir()


def test_force_cloud_without_a_token_is_a_clear_error(tmp_path: Path) -> None:
    """force_cloud=True off the platform without APIFY_TOKEN says what to set."""
    result = run_script(
        tmp_path,
        """
from actorkit import actor
with actor:
    actor.open_dataset(force_cloud=True)
""",
    )
    assert result.returncode != 0
    assert 'APIFY_TOKEN' in result.stderr


def test_apify_client_is_one_client_per_run(home_actor: Callable[..., Actor]) -> None:
    """actor.apify_client is made once per run, shared, and replaced after a new init()."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    client = actor.apify_client
    assert actor.apify_client is client
    assert client.run(run_id).get()['id'] == run_id
    actor.exit()
    actor.init()
    assert actor.apify_client is not client
    assert actor.apify_client.run(run_id).get()['id'] == run_id
