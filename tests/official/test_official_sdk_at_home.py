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
from collections.abc import Callable, Iterator
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


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform() as fake:
        yield fake


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
