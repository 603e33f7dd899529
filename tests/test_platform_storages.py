"""Storages at home: the public classes over the platform backend, against the FakePlatform."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actorkit import (
    Actor,
    Configuration,
    InvalidStorageArgumentError,
    StorageError,
    StorageNotFoundError,
)
from actorkit.client import ApifyClient
from actorkit.storages._platform import ALIAS_MAPPING_KEY, PlatformStorageBackend
from actorkit.testing import FakePlatform


@pytest.fixture
def api(platform: FakePlatform) -> ApifyClient:
    """A client of the fake platform, to look at what the Actor stored."""
    return ApifyClient(platform.token, api_url=platform.api_url)


def test_default_storages_are_the_runs(home_actor: Callable[..., Actor]) -> None:
    """With no argument, the storages are the run's default ones from the environment."""
    actor = home_actor(input={'greeting': 'hi'})
    config = actor.config
    assert actor.open_key_value_store().id == config.default_key_value_store_id
    assert actor.open_dataset().id == config.default_dataset_id
    assert actor.open_request_queue().id == config.default_request_queue_id
    assert actor.get_input() == {'greeting': 'hi'}
    assert actor.open_dataset() is actor.open_dataset()


def test_input_at_home_gets_no_local_schema_defaults(
    home_actor: Callable[..., Actor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At home the input is read as stored: a local input schema adds no defaults."""
    schema = json.dumps(
        {
            'title': 'x',
            'type': 'object',
            'schemaVersion': 1,
            'properties': {
                'n': {'title': 'n', 'type': 'integer', 'description': 'n', 'default': 5}
            },
        }
    )
    (tmp_path / '.actor').mkdir()
    (tmp_path / '.actor' / 'input_schema.json').write_text(schema, encoding='utf-8')
    monkeypatch.chdir(tmp_path)
    actor = home_actor(input={'other': True})
    assert actor.get_input() == {'other': True}


def test_records_round_trip_through_the_api(
    home_actor: Callable[..., Actor], api: ApifyClient
) -> None:
    """Values keep their types and content types; deletes, existence and listing work."""
    actor = home_actor()
    store = actor.open_key_value_store()
    store.set_value('json', {'a': [1, 2.5, None, True]})
    store.set_value('text', 'héllo')
    store.set_value('bytes', b'\x00\x01')
    store.set_value('typed', '<p/>', content_type='text/html')
    assert store.get_value('json') == {'a': [1, 2.5, None, True]}
    assert store.get_value('text') == 'héllo'
    assert store.get_value('bytes') == b'\x00\x01'
    assert store.get_value('typed') == '<p/>'
    assert store.get_value('missing', 'dflt') == 'dflt'
    raw = api.key_value_store(store.id).get_record('typed')
    assert raw is not None
    assert raw['content_type'].startswith('text/html')
    assert store.record_exists('json')
    assert not store.record_exists('missing')
    store.delete_value('bytes')
    store.delete_value('never-there')
    assert not store.record_exists('bytes')
    store.set_value('text', None)
    assert store.get_value('text') is None
    assert store.get_metadata().id == store.id
    assert store.name is None
    assert store.id in store.get_public_url('json')


def test_keys_list_with_paging_and_prefix(home_actor: Callable[..., Actor]) -> None:
    """list_keys pages with exclusive_start_key and limit, and filters by prefix."""
    store = home_actor().open_key_value_store()
    for key in ('a-1', 'a-2', 'a-3', 'b-1', 'b-2'):
        store.set_value(key, key)
    first = store.list_keys_page(limit=2)
    assert [info.key for info in first.items] == ['a-1', 'a-2']
    assert first.is_truncated
    assert first.next_exclusive_start_key == 'a-2'
    second = store.list_keys_page(exclusive_start_key='a-2', limit=2)
    assert [info.key for info in second.items] == ['a-3', 'b-1']
    assert [info.key for info in store.list_keys(prefix='b-')] == ['b-1', 'b-2']
    assert [info.key for info in store.iterate_keys(limit=4)] == ['a-1', 'a-2', 'a-3', 'b-1']
    assert dict(store.iterate_entries(prefix='a-')) == {'a-1': 'a-1', 'a-2': 'a-2', 'a-3': 'a-3'}
    assert all(info.size > 0 for info in store.iterate_keys())


def test_named_storages_are_got_or_created_and_opened_by_id(
    home_actor: Callable[..., Actor], api: ApifyClient, platform: FakePlatform
) -> None:
    """A name opens the same storage in another run; an id or username~name opens it too."""
    first = home_actor().open_dataset(name='results')
    first.push_data({'n': 1})
    other_run = home_actor()
    again = other_run.open_dataset(name='results')
    assert again.id == first.id
    assert again.name == 'results'
    assert again.list_items() == [{'n': 1}]
    username = api.dataset(first.id).get()['username']  # type: ignore[index]
    by_full_name = other_run.open_dataset(id=f'{username}~results')
    assert by_full_name is again
    assert other_run.open_key_value_store(name='shared').id == (
        home_actor().open_key_value_store(name='shared').id
    )


def test_a_missing_id_is_a_clear_error(home_actor: Callable[..., Actor]) -> None:
    """Opening a storage by an id that does not exist names the id."""
    actor = home_actor()
    with pytest.raises(StorageNotFoundError, match='nope123'):
        actor.open_request_queue(id='nope123')


def test_aliases_are_run_scoped_and_mapped_as_the_official_sdk(
    home_actor: Callable[..., Actor], platform: FakePlatform, api: ApifyClient
) -> None:
    """An alias makes an unnamed storage, recorded in the default store's alias mapping."""
    env = platform.run_env()
    actor = home_actor(env)
    cache = actor.open_dataset(alias='cache')
    assert cache.name is None
    assert cache.id != actor.open_dataset().id
    assert actor.open_dataset(alias='cache') is cache
    assert actor.open_dataset(alias='default') is actor.open_dataset()
    record = api.key_value_store(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']).get_record(
        ALIAS_MAPPING_KEY
    )
    digest = hashlib.sha256(
        f'{actor.config.api_public_base_url}{platform.token}'.encode()
    ).hexdigest()[:8]
    assert record is not None
    assert record['value'] == {f'Dataset,cache,{digest}': cache.id}
    # The same run (e.g. after a migration) finds it again; another run gets its own.
    actor.exit()
    assert home_actor(env).open_dataset(alias='cache').id == cache.id
    assert home_actor().open_dataset(alias='cache').id != cache.id


def test_storages_json_aliases_come_first(
    home_actor: Callable[..., Actor], platform: FakePlatform, api: ApifyClient
) -> None:
    """ACTOR_STORAGES_JSON maps an alias to the storage the platform made for it."""
    made = api.key_value_stores().get_or_create(name='made-for-schema')
    env = platform.run_env()
    env['ACTOR_STORAGES_JSON'] = (
        '{{"keyValueStores": {{"custom": "{}"}}, "datasets": {{}}, "requestQueues": {{}}}}'.format(
            made['id']
        )
    )
    assert home_actor(env).open_key_value_store(alias='custom').id == made['id']


def test_drop_deletes_the_storage(home_actor: Callable[..., Actor], api: ApifyClient) -> None:
    """drop() deletes the storage on the platform; opening by name makes a new one."""
    actor = home_actor()
    dataset = actor.open_dataset(name='temp')
    store = actor.open_key_value_store(name='temp-kvs')
    queue = actor.open_request_queue(name='temp-rq')
    ids = (dataset.id, store.id, queue.id)
    dataset.drop()
    store.drop()
    queue.drop()
    assert api.dataset(ids[0]).get() is None
    assert api.key_value_store(ids[1]).get() is None
    assert api.request_queue(ids[2]).get() is None
    assert actor.open_dataset(name='temp').id != ids[0]


def test_purge_keeps_the_input_and_datasets_refuse_it(home_actor: Callable[..., Actor]) -> None:
    """Purging the default store keeps INPUT; a dataset cannot be purged through the API."""
    actor = home_actor(input={'x': 1})
    store = actor.open_key_value_store()
    store.set_value('other', 1)
    store.purge()
    assert [info.key for info in store.list_keys()] == ['INPUT']
    with pytest.raises(StorageError, match='drop'):
        actor.open_dataset().purge()


FILTER_CASES: list[dict[str, Any]] = [
    {},
    {'offset': 2, 'limit': 3},
    {'desc': True},
    {'desc': True, 'offset': 1, 'limit': 2},
    {'fields': ['b', 'a']},
    {'omit': ['a']},
    {'clean': True},
    {'skip_empty': True},
    {'skip_hidden': True},
    {'fields': 'a,#h', 'skip_empty': True},
    {'limit': 0},
]
ITEMS: list[dict[str, Any]] = [
    {'a': 1, 'b': 2, '#h': 'x'},
    {},
    {'a': 3},
    {'#h': 'only hidden'},
    {'b': [1, {'c': None}]},
    {'a': 'ü', 'b': 'ñ'},
]


def test_dataset_reads_match_the_local_backend(
    home_actor: Callable[..., Actor], tmp_path: Path
) -> None:
    """Every filter and paging option of get_data and iterate_items gives the local result."""
    home = home_actor().open_dataset()
    home.push_data(ITEMS)
    local_actor = Actor(
        config=Configuration(local_storage_dir=str(tmp_path / 'storage')),
        configure_logging=False,
        exit_process=False,
    )
    with local_actor:
        local = local_actor.open_dataset()
        local.push_data(ITEMS)
        for case in FILTER_CASES:
            home_page, local_page = home.get_data(**case), local.get_data(**case)
            assert home_page.items == local_page.items, case
            assert (home_page.total, home_page.offset, home_page.desc) == (
                local_page.total,
                local_page.offset,
                local_page.desc,
            ), case
            assert list(home.iterate_items(**case)) == list(local.iterate_items(**case)), case
        assert home.item_count == local.item_count == len(ITEMS)
        assert home.get_metadata().item_count == len(ITEMS)


def test_exit_stops_the_lock_thread_and_frees_held_requests(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """A request fetched and not finished is released at exit, and the lock thread is joined."""
    env = platform.run_env()
    actor = home_actor(env)
    queue = actor.open_request_queue()
    queue.add_request('https://example.com/held')
    assert queue.fetch_next_request() is not None
    assert any(t.name == 'actorkit-rq-lock-prolong' for t in threading.enumerate())
    actor.exit()
    assert not any(t.name == 'actorkit-rq-lock-prolong' for t in threading.enumerate())
    again = home_actor(env).open_request_queue().fetch_next_request()
    assert again is not None
    assert again.url == 'https://example.com/held'


def test_the_token_never_shows_in_reprs_or_errors(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """Reprs of the backend and its clients, and storage errors, never contain the token."""
    actor = home_actor()
    storages = actor._storage()  # the run's storage manager
    backend = storages.backend()
    texts = [repr(backend), repr(actor.open_dataset().client), repr(actor.open_request_queue())]
    with pytest.raises(StorageNotFoundError) as caught:
        actor.open_key_value_store(id='missing-store')
    texts.append(str(caught.value))
    assert all(platform.token not in text for text in texts)


def test_the_platform_backend_refuses_two_choices(platform: FakePlatform) -> None:
    """The platform backend refuses opening a storage by both a name and an alias."""
    backend = PlatformStorageBackend(Configuration.from_env(platform.run_env()))
    try:
        with pytest.raises(
            InvalidStorageArgumentError, match='open a dataset by one of id, name or alias, not by'
        ):
            backend.open_dataset(name='results', alias='cache')
    finally:
        backend.close()
