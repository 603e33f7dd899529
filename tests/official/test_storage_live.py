"""Local storage compatibility with the real official SDK, in both directions, on disk.

The official SDK (apify 4.1.0 on crawlee 1.11.0) writes a storage folder in a subprocess and
actorkit reads it, continues it, and the official SDK reads it again; and the reverse. The
hand-written fixtures of tests/test_storage_compat.py pin the same layout without the
official packages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from actorkit import Actor

MakeActor = Callable[..., Actor]
OfficialRunner = Callable[..., Any]

BASE = 'https://example.com'

OFFICIAL_WRITES = f"""
from apify import Actor
from crawlee import Request


async def main():
    async with Actor:
        await Actor.set_value('OUTPUT', {{'ok': True, 'list': [1, 2], 'text': 'Zoë 😀'}})
        await Actor.set_value('text', 'plain ünï')
        await Actor.set_value('blob', b'\\x00\\xff\\x89PNG')
        await Actor.set_value('page', '<p>hi</p>', content_type='text/html; charset=utf-8')
        await Actor.set_value('count', 42)
        await Actor.set_value("odd(key)'s!", ['odd'])
        named_store = await Actor.open_key_value_store(name='shared-store')
        await named_store.set_value('config', {{'depth': 2}})

        await Actor.push_data(
            [{{'n': n, 'title': f'Zoë {{n}}', 'tags': ['a', None]}} for n in range(1, 6)]
        )
        named = await Actor.open_dataset(name='results')
        await named.push_data({{'named': True}})

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
        await queue.add_request('{BASE}/ff1', forefront=True)
        await queue.add_request('{BASE}/ff2', forefront=True)
        first = await queue.fetch_next_request()
        await queue.mark_request_as_handled(first)
        second = await queue.fetch_next_request()  # left in progress: the run ends mid-request

        emit({{
            'kvs': (await (await Actor.open_key_value_store()).get_metadata()).id,
            'dataset': (await (await Actor.open_dataset()).get_metadata()).id,
            'named_dataset': (await named.get_metadata()).id,
            'queue': (await queue.get_metadata()).id,
            'fetched': [first.url, second.url],
            'types': {{
                info.key: info.content_type
                async for info in (await Actor.open_key_value_store()).iterate_keys()
            }},
        }})


asyncio.run(main())
"""

OFFICIAL_READS_BACK = f"""
from apify import Actor


async def main():
    async with Actor:
        queue = await Actor.open_request_queue()
        meta = await queue.get_metadata()
        dataset = await Actor.open_dataset()
        items = (await dataset.get_data(limit=100)).items
        kvs = await Actor.open_key_value_store()
        emit({{
            'queue_finished': await queue.is_finished(),
            'next': await queue.fetch_next_request(),
            'handled_count': meta.handled_request_count,
            'total_count': meta.total_request_count,
            'handled_at_set': [
                (await queue.get_request(f'{BASE}/{{key}}')).handled_at is not None
                for key in ('1', '2', '3', 'form', 'ff1', 'ff2')
            ],
            'items': items,
            'item_count': (await dataset.get_metadata()).item_count,
            'actorkit_record': await kvs.get_value('from-actorkit'),
        }})


asyncio.run(main())
"""


def test_official_storage_is_read_and_continued(
    run_official: OfficialRunner, make_actor: MakeActor, tmp_path: Path
) -> None:
    """What the official SDK writes, actorkit reads; what actorkit adds, the official SDK reads."""
    storage = tmp_path / 'storage'
    ids = run_official(OFFICIAL_WRITES, storage=storage, purge=True)
    assert ids['fetched'] == [f'{BASE}/ff2', f'{BASE}/ff1']

    actor = make_actor(purge_on_start=False)
    actor.init()
    store = actor.open_key_value_store()
    assert store.id == ids['kvs']
    assert actor.get_value('OUTPUT') == {'ok': True, 'list': [1, 2], 'text': 'Zoë 😀'}
    assert actor.get_value('text') == 'plain ünï'
    assert actor.get_value('blob') == b'\x00\xff\x89PNG'
    assert actor.get_value('page') == '<p>hi</p>'
    assert actor.get_value('count') == '42'  # the official SDK stored the int as text
    assert actor.get_value("odd(key)'s!") == ['odd']
    written = {'OUTPUT', 'text', 'blob', 'page', 'count', "odd(key)'s!"}
    types = {info.key: info.content_type for info in store.iterate_keys() if info.key in written}
    assert types == {key: ids['types'][key] for key in written}
    assert types['page'] == 'text/html; charset=utf-8'
    assert actor.open_key_value_store(name='shared-store').get_value('config') == {'depth': 2}

    dataset = actor.open_dataset()
    assert dataset.id == ids['dataset']
    assert dataset.name is None
    assert dataset.get_metadata().item_count == 5
    expected_items = [{'n': n, 'title': f'Zoë {n}', 'tags': ['a', None]} for n in range(1, 6)]
    assert list(dataset.iterate_items()) == expected_items
    named = actor.open_dataset(name='results')
    assert (named.id, named.name) == (ids['named_dataset'], 'results')
    assert list(named.iterate_items()) == [{'named': True}]

    queue = actor.open_request_queue()
    assert queue.id == ids['queue']
    assert queue.get_handled_count() == 1
    assert queue.get_total_count() == 6
    handled = queue.get_request(f'{BASE}/ff2')
    assert handled is not None
    assert handled.handled_at is not None
    # ff1 was in progress when the official run ended: it is served again, at its place.
    order = []
    while (request := queue.fetch_next_request()) is not None:
        order.append(request)
    assert [request.url for request in order] == [
        f'{BASE}/ff1',
        f'{BASE}/1',
        f'{BASE}/2',
        f'{BASE}/3',
        f'{BASE}/form',
    ]
    form = order[-1]
    assert (form.method, form.payload) == ('POST', 'a=1')
    assert form.headers == {'x-custom': 'yes'}
    assert form.user_data == {'label': 'FORM', 'depth': 1}
    for request in order:
        queue.mark_request_as_handled(request)
    assert queue.is_finished()

    dataset.push_data({'n': 6, 'by': 'actorkit'})
    actor.set_value('from-actorkit', {'seen': True})
    actor.exit()

    back = run_official(OFFICIAL_READS_BACK, storage=storage)
    assert back['queue_finished'] is True
    assert back['next'] is None
    assert (back['handled_count'], back['total_count']) == (6, 6)
    assert back['handled_at_set'] == [True] * 6
    assert back['items'] == [*expected_items, {'n': 6, 'by': 'actorkit'}]
    assert back['item_count'] == 6
    assert back['actorkit_record'] == {'seen': True}


OFFICIAL_READS_ACTORKIT = f"""
from apify import Actor


async def main():
    async with Actor:
        kvs = await Actor.open_key_value_store()
        types = {{info.key: info.content_type async for info in kvs.iterate_keys()}}
        keys = list(types)
        values = {{key: await kvs.get_value(key) for key in keys}}
        kvs_meta = await kvs.get_metadata()
        kvs_meta = [kvs_meta.id, kvs_meta.name]
        dataset = await Actor.open_dataset()
        dataset_meta = await dataset.get_metadata()
        dataset_meta = [dataset_meta.id, dataset_meta.name, dataset_meta.item_count]
        items = (await dataset.get_data()).items
        page = await dataset.get_data(offset=1, limit=2, desc=False)
        by_id = await Actor.open_dataset(id=dataset_meta[0])
        same_by_id = (await by_id.get_data()).items == items
        named = await Actor.open_dataset(name='results')
        queue = await Actor.open_request_queue()
        queue_meta = await queue.get_metadata()
        queue_meta = [
            queue_meta.id,
            queue_meta.handled_request_count,
            queue_meta.pending_request_count,
            queue_meta.total_request_count,
        ]
        again = await queue.add_request('{BASE}/ff2')
        known = await queue.add_request('{BASE}/1')
        form = await queue.get_request('{BASE}/form')
        pending = []
        while (request := await queue.fetch_next_request()) is not None:
            pending.append(request.url)
            if request.url == '{BASE}/2':
                await queue.mark_request_as_handled(request)
        await queue.add_request('{BASE}/official')
        await dataset.push_data({{'n': 99, 'by': 'official'}})
        await kvs.set_value('from-official', 'hello')
        emit({{
            'keys': keys,
            'types': types,
            'values': values,
            'kvs_meta': kvs_meta,
            'dataset_meta': dataset_meta,
            'items': items,
            'page': [page.items, page.offset, page.count, page.total],
            'same_by_id': same_by_id,
            'named': [(await named.get_metadata()).name, (await named.get_data()).items],
            'queue_meta': queue_meta,
            'again': [again.was_already_present, again.was_already_handled],
            'known': [known.was_already_present, known.was_already_handled],
            'form': [
                form.method,
                form.payload,
                dict(form.headers),
                form.user_data.model_dump(exclude_none=True),
                form.handled_at,
            ],
            'pending': pending,
        }})


asyncio.run(main())
"""


def test_actorkit_storage_is_read_and_continued_by_the_official_sdk(
    run_official: OfficialRunner, make_actor: MakeActor, tmp_path: Path
) -> None:
    """What actorkit writes, the official SDK reads; what it adds, actorkit reads in turn."""
    storage = tmp_path / 'storage'
    actor = make_actor(purge_on_start=True)
    actor.init()
    records: dict[str, Any] = {
        'OUTPUT': {'ok': True, 'list': [1, 2], 'text': 'Zoë 😀'},
        'text': 'plain ünï',
        'blob': b'\x00\xff\x89PNG',
        "odd(key)'s!": ['odd'],
    }
    for key, value in records.items():
        actor.set_value(key, value)
    actor.set_value('page', '<p>hi</p>', content_type='text/html; charset=utf-8')
    items = [{'n': n, 'title': f'Zoë {n}', 'nested': {'x': [n, None]}} for n in range(1, 6)]
    actor.push_data(items)
    actor.open_dataset(name='results').push_data({'named': True})
    queue = actor.open_request_queue()
    queue.add_requests([f'{BASE}/1', f'{BASE}/2', f'{BASE}/3'])
    queue.add_request(
        {
            'url': f'{BASE}/form',
            'method': 'POST',
            'payload': 'a=1',
            'headers': {'X-Custom': 'yes'},
            'user_data': {'label': 'FORM', 'depth': 1},
        }
    )
    queue.add_request(f'{BASE}/ff1', forefront=True)
    queue.add_request(f'{BASE}/ff2', forefront=True)
    first = queue.fetch_next_request()
    assert first is not None
    assert first.url == f'{BASE}/ff2'
    queue.mark_request_as_handled(first)
    ids = {
        'kvs': actor.open_key_value_store().id,
        'dataset': actor.open_dataset().id,
        'queue': queue.id,
    }
    actor.exit()

    seen = run_official(OFFICIAL_READS_ACTORKIT, storage=storage)
    assert sorted(seen['keys']) == sorted([*records, 'page'])
    assert seen['values'] == {**records, 'page': '<p>hi</p>'}
    assert seen['types'] == {
        'OUTPUT': 'application/json; charset=utf-8',
        'text': 'text/plain; charset=utf-8',
        'blob': 'application/octet-stream',
        "odd(key)'s!": 'application/json; charset=utf-8',
        'page': 'text/html; charset=utf-8',
    }
    assert seen['kvs_meta'] == [ids['kvs'], None]
    assert seen['dataset_meta'] == [ids['dataset'], None, 5]
    assert seen['items'] == items
    assert seen['page'] == [items[1:3], 1, 2, 5]
    assert seen['same_by_id'] is True
    assert seen['named'] == ['results', [{'named': True}]]
    assert seen['queue_meta'] == [ids['queue'], 1, 5, 6]
    assert seen['again'] == [True, True]
    assert seen['known'] == [True, False]
    assert seen['form'] == [
        'POST',
        b'a=1',
        {'x-custom': 'yes'},
        {'label': 'FORM', 'depth': 1},
        None,
    ]
    # Every waiting request is served exactly once. The order is not the one actorkit keeps:
    # the official SDK orders a queue it did not write itself by its own saved state only.
    assert sorted(seen['pending']) == sorted(
        [f'{BASE}/ff1', f'{BASE}/1', f'{BASE}/2', f'{BASE}/3', f'{BASE}/form']
    )

    actor = make_actor(purge_on_start=False)
    actor.init()
    assert actor.get_value('from-official') == 'hello'
    dataset = actor.open_dataset()
    assert list(dataset.iterate_items()) == [*items, {'n': 99, 'by': 'official'}]
    assert dataset.get_metadata().item_count == 6
    queue = actor.open_request_queue()
    two = queue.get_request(f'{BASE}/2')
    assert two is not None
    assert two.handled_at is not None
    served = []
    while (request := queue.fetch_next_request()) is not None:
        served.append(request.url)
        queue.mark_request_as_handled(request)
    assert served == [f'{BASE}/ff1', f'{BASE}/1', f'{BASE}/3', f'{BASE}/form', f'{BASE}/official']
    assert queue.get_handled_count() == 7
    assert queue.is_finished()
    actor.exit()


OFFICIAL_KILLED = f"""
import os

from apify import Actor


async def main():
    await Actor.init()
    await Actor.push_data([{{'n': n}} for n in range(1, 4)])
    await Actor.set_value('STATE', {{'page': 3}})
    queue = await Actor.open_request_queue()
    for n in range(1, 6):
        await queue.add_request(f'{BASE}/{{n}}')
    first = await queue.fetch_next_request()
    await queue.mark_request_as_handled(first)
    await queue.fetch_next_request()  # in progress when the process dies
    emit({{'handled': first.url}})
    os._exit(9)  # killed: no exit sequence, no saved queue state


asyncio.run(main())
"""


def test_storage_of_a_killed_official_run_is_recovered(
    run_official: OfficialRunner, make_actor: MakeActor, tmp_path: Path
) -> None:
    """A run the official SDK never finished: items, records and every request are kept."""
    storage = tmp_path / 'storage'
    result = run_official(OFFICIAL_KILLED, storage=storage, purge=True, returncode=9)
    assert result == {'handled': f'{BASE}/1'}
    # The official SDK saves its queue state when the queue opens and then only now and then:
    # what it left knows none of the requests.
    for state in (storage / 'key_value_stores' / 'default').glob('__RQ_STATE_*'):
        if not state.name.endswith('.json'):
            assert f'{BASE}/2' not in state.read_text()

    actor = make_actor(purge_on_start=False)
    actor.init()
    assert [item['n'] for item in actor.open_dataset().iterate_items()] == [1, 2, 3]
    assert actor.get_value('STATE') == {'page': 3}
    queue = actor.open_request_queue()
    assert queue.get_handled_count() == 1
    served = []
    while (request := queue.fetch_next_request()) is not None:
        served.append(request.url)
        queue.mark_request_as_handled(request)
    # Without the official SDK's saved state, the order comes from the files' ages.
    assert served == [f'{BASE}/{n}' for n in range(2, 6)]
    assert queue.is_finished()
    actor.exit()
