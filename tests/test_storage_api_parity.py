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


def test_open_classmethods_give_the_actors_objects(running: Actor) -> None:
    """Dataset.open(), KeyValueStore.open() and RequestQueue.open() go through the running Actor."""
    from actorkit.storages import Dataset, KeyValueStore, RequestQueue

    assert Dataset.open() is running.open_dataset()
    assert KeyValueStore.open(name='cache') is running.open_key_value_store(name='cache')
    assert RequestQueue.open(alias='tmp') is running.open_request_queue(alias='tmp')
    with pytest.raises(InvalidStorageArgumentError, match='storage_client= is not supported'):
        Dataset.open(storage_client=object())


def test_open_classmethods_need_a_running_actor(make_actor: MakeActor) -> None:
    """Opening through a class with no Actor running is a clear ActorStateError."""
    from actorkit import ActorStateError
    from actorkit.storages import Dataset

    make_actor()
    with pytest.raises(ActorStateError, match=r'no Actor is running: call actor\.init\(\)'):
        Dataset.open()


def test_force_cloud_without_a_token_names_apify_token(running: Actor) -> None:
    """force_cloud=True is accepted everywhere; without a token it says to set APIFY_TOKEN."""
    from actorkit import ActorStateError
    from actorkit.storages import Dataset

    with pytest.raises(ActorStateError, match='APIFY_TOKEN'):
        running.open_dataset(force_cloud=True)
    with pytest.raises(ActorStateError, match='APIFY_TOKEN'):
        Dataset.open(name='remote', force_cloud=True)
    assert running.open_key_value_store(force_cloud=False) is running.open_key_value_store()


def test_platform_only_item_options_are_ignored_locally_with_a_warning(
    running: Actor, caplog: pytest.LogCaptureFixture
) -> None:
    """unwind, flatten and view are accepted; locally they are ignored and say so."""
    dataset = running.open_dataset()
    dataset.push_data([{'a': [1, 2]}, {'a': [3]}])
    with caplog.at_level('WARNING', logger='actorkit.storage'):
        page = dataset.get_data(unwind=['a'], flatten=['a'], view='overview')
        items = dataset.list_items(unwind='a', offset=1)
    assert page.items == [{'a': [1, 2]}, {'a': [3]}]
    assert items == [{'a': [3]}]
    messages = [record.getMessage() for record in caplog.records]
    assert any("unwind=['a'], flatten=['a'], view='overview'" in m for m in messages)
    assert any('list_items' in m or 'iterate_items' in m for m in messages)
    assert all('ignored by local storages' in m for m in messages)


def test_export_to_passes_writer_options(running: Actor) -> None:
    """export_to(**kwargs) goes to the CSV and JSON writers, as in the official SDK."""
    dataset = running.open_dataset()
    dataset.push_data([{'a': 1, 'b': 'x'}, {'a': 2}])
    dataset.export_to('ROWS_CSV', 'csv', delimiter=';', restval='-', collect_all_keys=True)
    assert running.get_value('ROWS_CSV') == 'a;b\n1;x\n2;-\n'
    dataset.export_to('ROWS_JSON', 'json', indent=None, sort_keys=True)
    record = running.open_key_value_store().get_value('ROWS_JSON')
    assert record == [{'a': 1, 'b': 'x'}, {'a': 2}]
    with pytest.raises(InvalidStorageArgumentError, match=r'unknown option.*colour'):
        dataset.export_to('X', 'csv', colour='red')
    with pytest.raises(InvalidStorageArgumentError, match='CSV export options'):
        dataset.export_to('X', 'csv', delimiter='ab')


def test_list_keys_returns_key_records_and_list_keys_page_pages(running: Actor) -> None:
    """list_keys returns key records as the official SDK does; list_keys_page has the paging."""
    store = running.open_key_value_store(name='keys')
    for index in range(5):
        store.set_value(f'k{index}', index)
    listed = store.list_keys(limit=3)
    assert [info.key for info in listed] == ['k0', 'k1', 'k2']
    assert [info.key for info in store.list_keys('k2')] == ['k3', 'k4']
    page = store.list_keys_page(limit=2)
    assert [info.key for info in page.items] == ['k0', 'k1']
    assert page.is_truncated
    assert page.next_exclusive_start_key == 'k1'


def test_persist_autosaved_values_saves_at_once(running: Actor, tmp_path: Path) -> None:
    """persist_autosaved_values() writes the store's auto-saved values without waiting."""
    store = running.open_key_value_store(name='progress')
    state = store.get_auto_saved_value('CRAWL', {'pages': 0})
    state['pages'] = 3
    store.persist_autosaved_values()
    saved = tmp_path / 'storage' / 'key_value_stores' / 'progress' / 'CRAWL'
    assert json.loads(saved.read_text()) == {'pages': 3}


def test_get_request_takes_the_unique_key_as_the_official_sdk_does(running: Actor) -> None:
    """get_request(unique_key) finds a request; request_id= still works; one of them is needed."""
    queue = running.open_request_queue()
    added = queue.add_request('https://example.com/page')
    by_key = queue.get_request('https://example.com/page')
    assert by_key is not None
    assert by_key.id == added.id
    assert queue.get_request(unique_key=added.unique_key) == by_key
    assert queue.get_request(request_id=added.id) == by_key
    assert queue.get_request('https://example.com/missing') is None
    with pytest.raises(InvalidStorageArgumentError, match='one of unique_key or request_id'):
        queue.get_request()


def test_request_from_url_keeps_crawlee_fields_where_crawlee_does(
    running: Actor, tmp_path: Path
) -> None:
    """label, session_id, max_retries and crawl_depth live in user_data as crawlee lays them out."""
    from actorkit.storages import Request

    request = Request.from_url(
        'https://example.com/x#f',
        label='DETAIL',
        session_id='s1',
        max_retries=3,
        user_data={'a': 1},
        method='post',
        payload=b'p',
        headers={'X-A': ' b '},
    )
    # What crawlee 1.11 writes for the same call (its userData, by alias).
    assert request.user_data == {
        '__crawlee': {'maxRetries': 3, 'session_id': 's1'},
        'label': 'DETAIL',
        'a': 1,
    }
    assert (request.label, request.session_id, request.max_retries) == ('DETAIL', 's1', 3)
    assert (request.method, request.payload, request.unique_key) == (
        'POST',
        'p',
        'https://example.com/x',
    )
    request.crawl_depth = 2
    queue = running.open_request_queue()
    queue.add_request(request)
    fetched = queue.fetch_next_request()
    assert fetched is not None
    assert (fetched.label, fetched.session_id, fetched.max_retries, fetched.crawl_depth) == (
        'DETAIL',
        's1',
        3,
        2,
    )
    folder = tmp_path / 'storage' / 'request_queues' / 'default'
    [stored] = [json.loads(p.read_text()) for p in folder.glob('*.json') if p.name[0] != '_']
    assert stored['user_data']['__crawlee'] == {
        'maxRetries': 3,
        'session_id': 's1',
        'crawlDepth': 2,
    }


def test_request_from_url_unique_keys_match_crawlee() -> None:
    """Extended keys include the session; always_enqueue makes a fresh key each time."""
    from actorkit.storages import Request

    extended = Request.from_url(
        'https://Example.com/a?b=1',
        use_extended_unique_key=True,
        session_id='SeSS',
        method='POST',
        payload='x',
        headers={'Accept': 'text/html'},
    )
    assert extended.unique_key == 'POST|f1614162|2d711642|sess|https://example.com/a?b=1'
    first = Request.from_url('https://example.com/', always_enqueue=True)
    second = Request.from_url('https://example.com/', always_enqueue=True)
    assert first.unique_key != second.unique_key
    assert first.unique_key.endswith('|https://example.com')
    with pytest.raises(InvalidStorageArgumentError, match='always_enqueue cannot be used'):
        Request.from_url('https://example.com/', unique_key='k', always_enqueue=True)
    with pytest.raises(InvalidStorageArgumentError, match='label must be a str'):
        Request.from_url('https://example.com/', label=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidStorageArgumentError, match="unknown field 'colour'"):
        Request.from_url('https://example.com/', colour='red')
    page = Request.from_url('https://example.com/p?q=1&q=2&empty=')
    assert page.get_query_param_from_url('q') == '1'
    assert page.get_query_param_from_url('empty') == ''
    assert page.get_query_param_from_url('nope', default='d') == 'd'


def test_push_data_accepts_charged_event_name(running: Actor) -> None:
    """push_data(charged_event_name=) is accepted and, without pay-per-event, ignored."""
    running.push_data({'a': 1}, charged_event_name='result-item')
    assert running.open_dataset().list_items() == [{'a': 1}]
    with pytest.raises(ValueError, match='synthetic event'):
        running.push_data({'a': 2}, charged_event_name='apify-default-dataset-item')


def test_a_request_built_directly_gets_its_id_from_the_unique_key(running: Actor) -> None:
    """Request(url=, unique_key=) works as crawlee's model does; the id is derived."""
    from actorkit.storages import Request

    request = Request(url='https://example.com/a', unique_key='https://example.com/a')
    assert request == Request.from_url('https://example.com/a')
    queue = running.open_request_queue()
    assert queue.add_request(request).id == request.id
