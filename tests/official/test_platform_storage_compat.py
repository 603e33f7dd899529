"""Platform storages written by actorkit read by the official SDK, and the reverse, at home.

Two processes of one run (as after a reboot or a resurrection) share the run's default storages
on ``FakePlatform``: what one SDK writes through the API, the other reads with the same values,
order and request states. The local-folder twin of this is test_storage_live.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actorkit.testing import FakePlatform

OfficialRunner = Callable[..., Any]

BASE = 'https://example.com'

RECORDS: dict[str, Any] = {
    'OUTPUT': {'ok': True, 'list': [1, 2], 'text': 'Zoë 😀'},
    'note': 'plain ünï',
    'shot': b'\x89PNG\x00',
    'list': ['a', None],
}

ACTORKIT_WRITES = f"""
from actorkit import actor

with actor:
    for key, value in {RECORDS!r}.items():
        actor.set_value(key, value)
    actor.set_value('page', '<p>hi</p>', content_type='text/html; charset=utf-8')
    actor.push_data([{{'n': n, 'title': f'Zoë {{n}}'}} for n in range(1, 6)])
    actor.open_dataset(name='shared-results').push_data({{'named': True}})
    queue = actor.open_request_queue()
    queue.add_requests(['{BASE}/1', '{BASE}/2', '{BASE}/3'])
    queue.add_request(
        {{
            'url': '{BASE}/form',
            'method': 'POST',
            'payload': 'a=1',
            'headers': {{'X-Custom': 'yes'}},
            'user_data': {{'label': 'FORM', 'depth': 1}},
        }}
    )
    queue.add_request('{BASE}/ff', forefront=True)
    first = queue.fetch_next_request()
    queue.mark_request_as_handled(first)
    emit({{'handled': first.url}})
"""

OFFICIAL_READS = f"""
from apify import Actor


async def main():
    async with Actor:
        kvs = await Actor.open_key_value_store()
        values = {{key: await kvs.get_value(key) for key in [*{list(RECORDS)!r}, 'page']}}
        items = (await (await Actor.open_dataset()).get_data()).items
        named = (await (await Actor.open_dataset(name='shared-results')).get_data()).items
        queue = await Actor.open_request_queue()
        again = await queue.add_request('{BASE}/ff')
        order = []
        form = None
        while (request := await queue.fetch_next_request()) is not None:
            order.append(request.url)
            if request.url == '{BASE}/form':
                form = [
                    request.method,
                    request.payload,
                    dict(request.headers),
                    request.user_data.model_dump(exclude_none=True),
                ]
            await queue.mark_request_as_handled(request)
        emit({{
            'values': values,
            'items': items,
            'named': named,
            'again': [again.was_already_present, again.was_already_handled],
            'order': order,
            'form': form,
            'finished': await queue.is_finished(),
        }})


asyncio.run(main())
"""


def test_official_sdk_reads_what_actorkit_wrote_on_the_platform(
    run_official: OfficialRunner, platform: FakePlatform
) -> None:
    """Records, items and the queue actorkit wrote at home read back in the official SDK."""
    env = platform.run_env(input={'query': 'shoes'})
    assert run_official(ACTORKIT_WRITES, env=env) == {'handled': f'{BASE}/ff'}

    seen = run_official(OFFICIAL_READS, env=env)
    assert seen['values'] == {**RECORDS, 'page': '<p>hi</p>'}
    assert seen['items'] == [{'n': n, 'title': f'Zoë {n}'} for n in range(1, 6)]
    assert seen['named'] == [{'named': True}]
    assert seen['again'] == [True, True]
    assert seen['order'] == [f'{BASE}/1', f'{BASE}/2', f'{BASE}/3', f'{BASE}/form']
    assert seen['form'] == ['POST', b'a=1', {'x-custom': 'yes'}, {'label': 'FORM', 'depth': 1}]
    assert seen['finished'] is True
    requests = platform.queue_requests(env['ACTOR_DEFAULT_REQUEST_QUEUE_ID'])
    assert len(requests) == 5
    assert all(request['handledAt'] for request in requests)


OFFICIAL_WRITES = f"""
from apify import Actor
from crawlee import Request


async def main():
    async with Actor:
        for key, value in {RECORDS!r}.items():
            await Actor.set_value(key, value)
        await Actor.set_value('page', '<p>hi</p>', content_type='text/html; charset=utf-8')
        await Actor.push_data([{{'n': n, 'title': f'Zoë {{n}}'}} for n in range(1, 6)])
        await (await Actor.open_dataset(name='shared-results')).push_data({{'named': True}})
        queue = await Actor.open_request_queue()
        await queue.add_requests(['{BASE}/1', '{BASE}/2', '{BASE}/3'])
        await queue.add_request(
            Request.from_url(
                '{BASE}/form',
                method='POST',
                payload=b'a=1',
                headers={{'X-Custom': 'yes'}},
                user_data={{'label': 'FORM', 'depth': 1}},
            )
        )
        await queue.add_request('{BASE}/ff', forefront=True)
        first = await queue.fetch_next_request()
        await queue.mark_request_as_handled(first)
        emit({{'handled': first.url}})


asyncio.run(main())
"""

ACTORKIT_READS = f"""
from actorkit import actor

with actor:
    values = {{key: actor.get_value(key) for key in [*{list(RECORDS)!r}, 'page']}}
    items = list(actor.open_dataset().iterate_items())
    named = list(actor.open_dataset(name='shared-results').iterate_items())
    queue = actor.open_request_queue()
    again = queue.add_request('{BASE}/ff')
    order = []
    form = None
    while (request := queue.fetch_next_request()) is not None:
        order.append(request.url)
        if request.url == '{BASE}/form':
            form = [request.method, request.payload, request.headers, request.user_data]
        queue.mark_request_as_handled(request)
    emit({{
        'values': values,
        'items': items,
        'named': named,
        'again': [again.was_already_present, again.was_already_handled],
        'order': order,
        'form': form,
        'finished': queue.is_finished(),
    }})
"""


def test_actorkit_reads_what_the_official_sdk_wrote_on_the_platform(
    run_official: OfficialRunner, platform: FakePlatform
) -> None:
    """Records, items and the queue the official SDK wrote at home read back in actorkit."""
    env = platform.run_env(input={'query': 'shoes'})
    assert run_official(OFFICIAL_WRITES, env=env) == {'handled': f'{BASE}/ff'}

    seen = run_official(ACTORKIT_READS, env=env)
    assert seen['values'] == {**RECORDS, 'page': '<p>hi</p>'}
    assert seen['items'] == [{'n': n, 'title': f'Zoë {n}'} for n in range(1, 6)]
    assert seen['named'] == [{'named': True}]
    assert seen['again'] == [True, True]
    assert seen['order'] == [f'{BASE}/1', f'{BASE}/2', f'{BASE}/3', f'{BASE}/form']
    assert seen['form'] == ['POST', 'a=1', {'x-custom': 'yes'}, {'label': 'FORM', 'depth': 1}]
    assert seen['finished'] is True
    requests = platform.queue_requests(env['ACTOR_DEFAULT_REQUEST_QUEUE_ID'])
    assert len(requests) == 5
    assert all(request['handledAt'] for request in requests)
