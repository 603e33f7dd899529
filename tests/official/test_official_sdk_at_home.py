"""The official ``apify`` SDK (4.x) running an Actor "at home" against ``FakePlatform``.

The Actor runs in a subprocess with the environment of a platform run
(``platform.run_env``): it reads its input, writes its default storages, consumes its request
queue and sets status messages through the fake API, and the test checks the platform's state.
Without ``ACTOR_EVENTS_WEBSOCKET_URL`` the official SDK starts without platform events (it only
logs that at debug level); when the fake platform provides the websocket, the same test covers
the connection too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from actorkit.testing import FakePlatform

OfficialRunner = Callable[..., Any]

BASE = 'https://example.com'

ACTOR_AT_HOME = f"""
from apify import Actor


async def main():
    await Actor.init()
    actor_input = await Actor.get_input()
    await Actor.push_data([{{'n': n, 'query': actor_input['query']}} for n in range(3)])
    await Actor.set_value('OUTPUT', {{'ok': True, 'text': 'Zoë'}})
    await Actor.set_value('note', 'plain ünï')
    await Actor.set_value('shot', b'\\x89PNG\\x00')
    named = await Actor.open_dataset(name='shared-results')
    await named.push_data({{'named': True}})

    queue = await Actor.open_request_queue()
    await queue.add_requests(['{BASE}/1', '{BASE}/2', '{BASE}/3'])
    await queue.add_request('{BASE}/first', forefront=True)
    handled = []
    while (request := await queue.fetch_next_request()) is not None:
        handled.append(request.url)
        await queue.mark_request_as_handled(request)
        await Actor.set_status_message(f'Handled {{len(handled)}} requests')
    emit({{
        'input': actor_input,
        'handled': handled,
        'finished': await queue.is_finished(),
        'is_at_home': Actor.is_at_home(),
        'read_back': await Actor.get_value('OUTPUT'),
    }})
    await Actor.exit(status_message=f'Done: {{len(handled)}} requests')


asyncio.run(main())
"""


def test_official_actor_runs_at_home_against_the_fake_platform(
    run_official: OfficialRunner, platform: FakePlatform
) -> None:
    """Input, items, records, a consumed queue and status messages all land on the platform."""
    env = platform.run_env(input={'query': 'shoes'})
    result = run_official(ACTOR_AT_HOME, env=env)
    assert result == {
        'input': {'query': 'shoes'},
        'handled': [f'{BASE}/first', f'{BASE}/1', f'{BASE}/2', f'{BASE}/3'],
        'finished': True,
        'is_at_home': True,
        'read_back': {'ok': True, 'text': 'Zoë'},
    }

    assert platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [
        {'n': n, 'query': 'shoes'} for n in range(3)
    ]
    assert platform.dataset_items('shared-results') == [{'named': True}]
    store = env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']
    output = platform.record(store, 'OUTPUT')
    assert output is not None
    assert json.loads(output[0]) == {'ok': True, 'text': 'Zoë'}
    assert output[1].startswith('application/json')
    assert platform.record(store, 'note') == ('plain ünï'.encode(), 'text/plain; charset=utf-8')
    assert platform.record(store, 'shot') == (b'\x89PNG\x00', 'application/octet-stream')

    requests = platform.queue_requests(env['ACTOR_DEFAULT_REQUEST_QUEUE_ID'])
    assert [request['url'] for request in requests] == [
        f'{BASE}/first',
        f'{BASE}/1',
        f'{BASE}/2',
        f'{BASE}/3',
    ]
    assert all(request['handledAt'] for request in requests)

    run = platform.run(env['ACTOR_RUN_ID'])
    assert run['statusMessage'] == 'Done: 4 requests'
    assert run['isStatusMessageTerminal'] is True
    paths = {(method, path) for method, path, _ in platform.received}
    assert ('PUT', f'/v2/actor-runs/{env["ACTOR_RUN_ID"]}') in paths


ACTOR_PLATFORM_CALLS = f"""
import os

from apify import Actor, Webhook


async def main():
    async with Actor:
        charged = await Actor.charge('result', count=2)
        pricing = Actor.get_charging_manager().get_pricing_info()
        await Actor.push_data({{'paid': True}}, charged_event_name='result')
        await Actor.add_webhook(
            Webhook(event_types=['ACTOR.RUN.SUCCEEDED'], request_url='{BASE}/hook')
        )
        started = await Actor.start(os.environ['TEST_OTHER_ACTOR'], run_input={{'x': 1}})
        store = await Actor.open_key_value_store(name='named-store')
        await store.set_value('state', {{'v': 1}})
        queue = await Actor.open_request_queue(name='named-queue')
        await queue.add_request('{BASE}/z')
        fetched = await queue.fetch_next_request()
        emit({{
            'charged_count': charged.charged_count,
            'pay_per_event': pricing.is_pay_per_event,
            'prices': {{name: str(price) for name, price in pricing.per_event_prices.items()}},
            'started': [started.id, started.status],
            'fetched': fetched.url,
        }})
        await Actor.fail(status_message='Failed on purpose', exit_code=3)


asyncio.run(main())
"""


def test_official_actor_charges_starts_and_fails_at_home(
    run_official: OfficialRunner, platform: FakePlatform
) -> None:
    """Pay-per-event charges, an ad-hoc webhook, a started Actor, named storages, a failed exit."""
    other = platform.create_actor('other-actor')
    env = platform.run_env(input={'query': 'shoes'}, pricing_info={'result': 0.1})
    run_id = env['ACTOR_RUN_ID']
    env['TEST_OTHER_ACTOR'] = f'{platform.username}/other-actor'
    result = run_official(ACTOR_PLATFORM_CALLS, env=env, returncode=3)
    assert result['charged_count'] == 2
    assert result['pay_per_event'] is True
    assert result['prices'] == {'result': '0.1'}
    assert result['fetched'] == f'{BASE}/z'

    assert [(charge.event_name, charge.count) for charge in platform.charges(run_id)] == [
        ('result', 2),
        ('result', 1),
    ]
    assert str(platform.charged_usd(run_id)).startswith('0.3')
    assert platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [{'paid': True}]
    hooks = platform.webhooks()
    assert [(hook['isAdHoc'], hook['condition'], hook['requestUrl']) for hook in hooks] == [
        (True, {'actorRunId': run_id}, f'{BASE}/hook')
    ]
    started = platform.run(result['started'][0])
    assert (started['actId'], started['status']) == (other, 'RUNNING')
    given = platform.record(started['defaultKeyValueStoreId'], 'INPUT')
    assert given is not None
    assert json.loads(given[0]) == {'x': 1}
    state = platform.record('named-store', 'state')
    assert state is not None
    assert json.loads(state[0]) == {'v': 1}
    assert [request['url'] for request in platform.queue_requests('named-queue')] == [f'{BASE}/z']

    run = platform.run(run_id)
    assert (run['statusMessage'], run['isStatusMessageTerminal']) == ('Failed on purpose', True)


SHARED_CONSUMER = """
import os, time
from pathlib import Path

from apify import Actor
from apify.storage_clients import ApifyStorageClient
from apify.storages import RequestQueue

MARKERS = Path(os.environ['TEST_MARKERS'])


async def main():
    async with Actor:
        queue = await RequestQueue.open(
            name='shared-queue', storage_client=ApifyStorageClient(request_queue_access='shared')
        )
        (MARKERS / os.environ['ACTOR_RUN_ID']).touch()
        deadline = time.monotonic() + 30
        while len(list(MARKERS.iterdir())) < 2:  # both consumers start together
            assert time.monotonic() < deadline, 'the other consumer never started'
            await asyncio.sleep(0.01)
        handled = []
        while not await queue.is_finished():
            request = await queue.fetch_next_request()
            if request is None:
                await asyncio.sleep(0.02)
                continue
            handled.append(request.url)
            await asyncio.sleep(0.005)  # the work
            await queue.mark_request_as_handled(request)
        emit({'handled': handled})


asyncio.run(main())
"""


def test_two_official_consumers_share_a_queue_through_locks(
    run_official: OfficialRunner, platform: FakePlatform, tmp_path: Path
) -> None:
    """Two official SDK runs in shared mode split one queue: each request handled exactly once."""
    from apify_client import ApifyClient

    queue_id = platform.create_request_queue('shared-queue')
    urls = [f'{BASE}/{n}' for n in range(60)]
    client = ApifyClient(platform.token, api_url=platform.api_url, api_public_url=platform.api_url)
    added = client.request_queue(queue_id).batch_add_requests(
        [{'unique_key': url, 'url': url} for url in urls]
    )
    assert added.unprocessed_requests == []
    markers = tmp_path / 'markers'
    markers.mkdir()
    envs = [{**platform.run_env(), 'TEST_MARKERS': str(markers)} for _ in range(2)]
    with ThreadPoolExecutor(2, thread_name_prefix='test-consumer') as pool:
        results = list(pool.map(lambda env: run_official(SHARED_CONSUMER, env=env), envs))

    handled = [result['handled'] for result in results]
    assert all(handled), f'a consumer got no request: {[len(h) for h in handled]}'
    assert sorted(handled[0] + handled[1]) == sorted(urls)
    requests = platform.queue_requests(queue_id)
    assert len(requests) == 60
    assert all(request['handledAt'] for request in requests)


ACTOR_CALLS_AND_TRANSFORMS = """
import os
import sys

from apify import Actor


async def main():
    async with Actor:
        called = await Actor.call(os.environ['TEST_OTHER_ACTOR'], run_input={'x': 2}, logger=None)
        task_run = await Actor.call_task('my-task')
        emit({
            'called': [called.id, called.status],
            'task_run': [task_run.id, task_run.status, task_run.actor_task_id],
        })
        if sys.argv[1] == 'metamorph':
            await Actor.metamorph('target-actor', run_input={'m': 1})
        else:
            await Actor.reboot()


sys.argv[1:] = [MODE]
asyncio.run(main())
"""


@pytest.mark.parametrize('mode', ['metamorph', 'reboot'])
def test_official_actor_calls_then_metamorphs_or_reboots_at_home(
    run_official: OfficialRunner, platform: FakePlatform, mode: str
) -> None:
    """Actor.call and call_task wait for runs the platform finishes; metamorph and reboot land."""
    handled: list[dict[str, str]] = []
    other = platform.create_actor('other-actor', handler=handled.append)
    target = platform.create_actor('target-actor')
    task = platform.create_task(other, 'my-task', input={'t': 1})
    env = platform.run_env(input={'query': 'shoes'})
    run_id = env['ACTOR_RUN_ID']
    script = f'MODE = {mode!r}\n' + ACTOR_CALLS_AND_TRANSFORMS
    env['TEST_OTHER_ACTOR'] = f'{platform.username}/other-actor'
    result = run_official(script, env={**env, 'APIFY_METAMORPH_AFTER_SLEEP_MILLIS': '50'})

    assert [run_env['ACTOR_ID'] for run_env in handled] == [other, other]
    called = platform.run(result['called'][0])
    assert result['called'][1] == called['status'] == 'SUCCEEDED'
    given = platform.record(called['defaultKeyValueStoreId'], 'INPUT')
    assert given is not None
    assert json.loads(given[0]) == {'x': 2}
    assert result['task_run'][1:] == ['SUCCEEDED', task]

    run = platform.run(run_id)
    posted = [path for method, path, _ in platform.received if method == 'POST']
    if mode == 'metamorph':
        assert run['actId'] == target
        morphed_input = platform.record(
            env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], 'INPUT-METAMORPH-1'
        )
        assert morphed_input is not None
        assert json.loads(morphed_input[0]) == {'m': 1}
        assert f'/v2/actor-runs/{run_id}/metamorph' in posted
    else:
        assert run['actId'] == env['ACTOR_ID']
        assert f'/v2/actor-runs/{run_id}/reboot' in posted
    assert run['status'] == 'RUNNING'


ACTOR_LISTENING = """
import os
from pathlib import Path

from apify import Actor, Event


async def main():
    async with Actor:
        seen = []
        migrated = asyncio.Event()

        async def on_persist_state(data):
            seen.append(['persistState', data.is_migrating])

        async def on_migrating(data):
            seen.append(['migrating', data.time_remaining.total_seconds()])
            await Actor.set_value('MIGRATION', {'saved': True})
            migrated.set()

        Actor.on(Event.PERSIST_STATE, on_persist_state)
        Actor.on(Event.MIGRATING, on_migrating)
        Path(os.environ['TEST_READY']).touch()
        await asyncio.wait_for(migrated.wait(), 30)
        emit({'seen': seen})


asyncio.run(main())
"""


def test_official_actor_gets_platform_events_at_home(
    run_official: OfficialRunner, platform: FakePlatform, tmp_path: Path
) -> None:
    """The official SDK connects to the events websocket and its listeners get the events."""
    env = platform.run_env()
    run_id = env['ACTOR_RUN_ID']
    assert env['ACTOR_EVENTS_WEBSOCKET_URL'].startswith('ws://127.0.0.1:')
    ready = tmp_path / 'listening'
    with ThreadPoolExecutor(1, thread_name_prefix='test-actor') as pool:
        future = pool.submit(run_official, ACTOR_LISTENING, env={**env, 'TEST_READY': str(ready)})
        platform.wait_for_events_connection(run_id, timeout=30)
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline, 'the Actor never registered its listeners'
            assert not future.done(), future.result()
            time.sleep(0.01)
        assert platform.send_event(run_id, 'persistState', {'isMigrating': False}) == 1
        assert platform.send_event(run_id, 'migrating', {'timeRemainingSecs': 30}) == 1
        result = future.result(timeout=60)
    assert result['seen'][:2] == [['persistState', False], ['migrating', 30]]
    record = platform.record(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], 'MIGRATION')
    assert record is not None
    assert json.loads(record[0]) == {'saved': True}
