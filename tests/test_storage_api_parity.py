"""Calls named as in the official SDK, so code that drops its awaits keeps working."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from actorkit import Actor, InvalidStorageArgumentError

MakeActor = Callable[..., Actor]


@pytest.fixture
def running(make_actor: MakeActor) -> Actor:
    actor = make_actor()
    actor.init()
    return actor


def test_iterate_keys_takes_a_start_key_a_limit_and_a_prefix(running: Actor) -> None:
    """iterate_keys(exclusive_start_key, limit, prefix=) pages as the official SDK does."""
    store = running.open_key_value_store()
    for index in range(5):
        store.set_value(f'k{index}', index)
    store.set_value('other', 'x')
    assert [i.key for i in store.iterate_keys()] == ['k0', 'k1', 'k2', 'k3', 'k4', 'other']
    assert [i.key for i in store.iterate_keys('k1', 2)] == ['k2', 'k3']
    assert [i.key for i in store.iterate_keys(prefix='k', limit=3)] == ['k0', 'k1', 'k2']
    assert list(store.iterate_keys(limit=0)) == []
    assert list(store) == ['k0', 'k1', 'k2', 'k3', 'k4', 'other']
    with pytest.raises(ValueError, match='negative'):
        list(store.iterate_keys(limit=-1))


def test_iterate_values_and_entries_read_each_record(running: Actor) -> None:
    """iterate_entries yields (key, value) pairs and iterate_values the values."""
    store = running.open_key_value_store(name='things')
    store.set_value('a', {'n': 1})
    store.set_value('b', 'text')
    store.set_value('c', b'\x00\x01')
    assert list(store.iterate_entries()) == [('a', {'n': 1}), ('b', 'text'), ('c', b'\x00\x01')]
    assert list(store.iterate_values('a')) == ['text', b'\x00\x01']


def test_purge_empties_each_storage_but_keeps_it(running: Actor, tmp_path: Path) -> None:
    """purge() deletes the contents of a store, a dataset and a queue; the storages remain."""
    store = running.open_key_value_store(name='cache')
    store.set_value('a', 1)
    dataset = running.open_dataset(name='rows')
    dataset.push_data([{'a': 1}, {'a': 2}])
    queue = running.open_request_queue(name='urls')
    queue.add_request('https://example.com/1')
    store.purge()
    dataset.purge()
    queue.purge()
    assert list(store.iterate_keys()) == []
    assert dataset.item_count == 0
    assert dataset.get_data().items == []
    assert queue.is_finished()
    assert queue.get_total_count() == 0
    assert (tmp_path / 'storage' / 'datasets' / 'rows' / '__metadata__.json').exists()
    dataset.push_data({'a': 3})
    assert [item['a'] for item in dataset.list_items()] == [3]


def test_list_items_takes_the_filters_of_iterate_items(running: Actor) -> None:
    """list_items returns a list with offset, limit, desc and field filters applied."""
    dataset = running.open_dataset()
    dataset.push_data([{'n': n, '#hidden': n} for n in range(5)])
    assert dataset.list_items(offset=1, limit=2, desc=True, clean=True) == [{'n': 3}, {'n': 2}]


def test_export_to_a_store_named_or_given_by_id(running: Actor) -> None:
    """export_to accepts to_kvs_name and to_kvs_id like the official SDK."""
    dataset = running.open_dataset()
    dataset.push_data([{'a': 1}, {'a': 2}])
    dataset.export_to('ROWS', 'json', to_kvs_name='exports')
    exports = running.open_key_value_store(name='exports')
    assert exports.get_value('ROWS') == [{'a': 1}, {'a': 2}]
    dataset.export_to('ROWS_CSV', 'csv', to_kvs_id=exports.id)
    assert exports.get_value('ROWS_CSV') == 'a\n1\n2\n'
    dataset.export_to('DEFAULT_ROWS', 'jsonl')
    body = running.get_value('DEFAULT_ROWS')
    lines = body.decode() if isinstance(body, bytes) else body
    assert [json.loads(line) for line in lines.splitlines()] == [{'a': 1}, {'a': 2}]
    with pytest.raises(InvalidStorageArgumentError, match='one target store'):
        dataset.export_to('X', 'json', to_key_value_store=exports, to_kvs_name='exports')


def test_get_auto_saved_value_is_use_state_for_that_store(running: Actor, tmp_path: Path) -> None:
    """get_auto_saved_value returns the same dict as use_state and saves it at exit."""
    store = running.open_key_value_store(name='progress')
    state = store.get_auto_saved_value('CRAWL', {'pages': 0})
    assert running.use_state(key='CRAWL', kvs_name='progress') is state
    assert store.get_auto_saved_value('CRAWL') is state
    state['pages'] = 7
    running.exit()
    saved = tmp_path / 'storage' / 'key_value_stores' / 'progress' / 'CRAWL'
    assert json.loads(saved.read_text()) == {'pages': 7}


def test_request_headers_are_stored_as_crawlee_stores_them(running: Actor, tmp_path: Path) -> None:
    """Header names are lower-cased, stripped and sorted, as the official SDK writes them."""
    from actorkit.storages import Request

    queue = running.open_request_queue()
    added = queue.add_request(
        {'url': 'https://example.com/a', 'headers': {'X-Token ': ' t ', 'Accept': 'text/html'}}
    )
    queue.add_request(Request.from_url('https://example.com/b', headers={'B': '1', 'A': '2'}))
    folder = tmp_path / 'storage' / 'request_queues' / 'default'
    files = {p.name: json.loads(p.read_text()) for p in folder.glob('*.json') if p.name[0] != '_'}
    headers = [body['headers'] for body in files.values()]
    assert {'accept': 'text/html', 'x-token': 't'} in headers
    assert {'a': '2', 'b': '1'} in headers
    stored = queue.get_request(added.id)
    assert stored is not None
    assert list(stored.headers) == ['accept', 'x-token']
