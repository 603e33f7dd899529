"""Storage calls through the Actor: input, records, items, opening storages, use_state."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from actorkit import Actor, ActorStateError, Event, InputError, InvalidStorageArgumentError
from actorkit.testing import emit, wait_for_listeners

MakeActor = Callable[..., Actor]


def default_store(tmp_path: Path) -> Path:
    return tmp_path / 'storage' / 'key_value_stores' / 'default'


def test_storage_calls_need_a_running_actor(make_actor: MakeActor) -> None:
    """Using a storage before init() or after exit() is a clear ActorStateError."""
    actor = make_actor()
    with pytest.raises(ActorStateError, match=r'actor\.init\(\)'):
        actor.push_data({'a': 1})
    actor.init()
    actor.exit()
    with pytest.raises(ActorStateError, match=r'actor\.init\(\)'):
        actor.get_value('x')


def test_records_and_items_round_trip(make_actor: MakeActor, tmp_path: Path) -> None:
    """set_value/get_value and push_data write the default storages on disk."""
    actor = make_actor()
    actor.init()
    actor.set_value('OUTPUT', {'ok': True})
    assert actor.get_value('OUTPUT') == {'ok': True}
    assert actor.get_value('missing', 'fallback') == 'fallback'
    actor.push_data({'n': 1})
    actor.push_data([{'n': 2}, {'n': 3}])
    assert [item['n'] for item in actor.open_dataset().get_data().items] == [1, 2, 3]
    actor.exit()
    assert json.loads((default_store(tmp_path) / 'OUTPUT').read_text()) == {'ok': True}
    items = sorted((tmp_path / 'storage' / 'datasets' / 'default').glob('0*.json'))
    assert [json.loads(p.read_text())['n'] for p in items] == [1, 2, 3]


def test_opening_a_storage_twice_gives_the_same_object(make_actor: MakeActor) -> None:
    """open_* returns one object per storage, and refuses two ways of naming one."""
    actor = make_actor()
    actor.init()
    assert actor.open_key_value_store() is actor.open_key_value_store()
    assert actor.open_dataset(name='results') is actor.open_dataset(name='results')
    assert actor.open_request_queue(alias='tmp') is actor.open_request_queue(alias='tmp')
    assert actor.open_dataset() is not actor.open_dataset(name='results')
    with pytest.raises(InvalidStorageArgumentError, match='one of id, name or alias'):
        actor.open_dataset(name='a', alias='b')
    actor.exit()


def test_input_is_read_from_the_default_store(make_actor: MakeActor, tmp_path: Path) -> None:
    """get_input reads INPUT.json of the default store, kept by the purge on start."""
    store = default_store(tmp_path)
    store.mkdir(parents=True)
    (store / 'INPUT.json').write_text('{"url": "https://example.com"}')
    actor = make_actor()
    actor.init()
    assert actor.get_input() == {'url': 'https://example.com'}
    actor.exit()


def test_malformed_input_names_the_file_and_position(make_actor: MakeActor, tmp_path: Path) -> None:
    """A broken INPUT gives one InputError with its location, line and column."""
    store = default_store(tmp_path)
    store.mkdir(parents=True)
    (store / 'INPUT.json').write_text('{\n  "a": 1,\n  "b" 2\n}')
    actor = make_actor()
    actor.init()
    with pytest.raises(InputError) as caught:
        actor.get_input()
    message = str(caught.value)
    assert 'key_value_stores' in message
    assert 'line 3' in message
    actor.exit()


def test_input_falls_back_to_the_working_directory_and_schema_defaults(
    make_actor: MakeActor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./INPUT.json is read off the platform and the input schema's defaults are filled in."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'INPUT.json').write_text('{"query": "books"}')
    (tmp_path / '.actor').mkdir()
    (tmp_path / '.actor' / 'input_schema.json').write_text(
        json.dumps(
            {
                'title': 'Input',
                'type': 'object',
                'schemaVersion': 1,
                'properties': {
                    'query': {'title': 'Query', 'type': 'string', 'description': 'q'},
                    'maxPages': {
                        'title': 'Max pages',
                        'type': 'integer',
                        'description': 'n',
                        'default': 3,
                    },
                },
                'required': ['query'],
            }
        )
    )
    actor = make_actor()
    actor.init()
    assert actor.get_input() == {'query': 'books', 'maxPages': 3}
    actor.exit()


def test_use_state_is_saved_on_persist_state_and_at_exit(
    make_actor: MakeActor, tmp_path: Path
) -> None:
    """use_state returns one dict per key, saved on PERSIST_STATE and on exit."""
    actor = make_actor()
    actor.init()
    state = actor.use_state({'count': 0})
    assert actor.use_state() is state
    state['count'] = 5
    emit(Event.PERSIST_STATE, actor=actor)
    wait_for_listeners(actor=actor)
    record = default_store(tmp_path) / 'APIFY_GLOBAL_STATE'
    assert json.loads(record.read_text()) == {'count': 5}
    state['count'] = 6
    actor.exit()
    assert json.loads(record.read_text()) == {'count': 6}


def test_use_state_is_restored_by_the_next_run(make_actor: MakeActor) -> None:
    """A second run without purge gets the saved state back, not the default."""
    actor = make_actor(purge_on_start=False)
    actor.init()
    actor.use_state({'done': 0}, key='PROGRESS')['done'] = 10
    actor.exit()
    again = make_actor(purge_on_start=False)
    again.init()
    assert again.use_state({'done': 0}, key='PROGRESS') == {'done': 10}
    again.exit()


def test_use_state_refuses_a_record_that_is_not_a_dict(make_actor: MakeActor) -> None:
    """A non-dict record under the state key is a clear TypeError."""
    actor = make_actor()
    actor.init()
    actor.set_value('STATE', [1, 2])
    with pytest.raises(TypeError, match='not a dict'):
        actor.use_state(key='STATE')
    actor.exit()


def test_state_snapshots_are_consistent_while_threads_mutate(
    make_actor: MakeActor, tmp_path: Path
) -> None:
    """Every saved snapshot keeps an invariant that writer threads keep under state.lock."""
    actor = make_actor()
    actor.init()
    state = actor.use_state({'a': 0, 'b': 100, 'log': []})
    stop = threading.Event()
    snapshots: list[dict[str, object]] = []
    record = default_store(tmp_path) / 'APIFY_GLOBAL_STATE'

    def writer() -> None:
        while not stop.is_set():
            with state.lock:
                state['a'] += 1
                state['b'] -= 1
                state['log'].append(state['a'])
                if len(state['log']) > 50:
                    del state['log'][:25]

    def read_snapshot() -> None:
        snapshots.append(json.loads(record.read_text()))

    actor.on(Event.PERSIST_STATE, lambda: None)
    writers = [threading.Thread(target=writer) for _ in range(4)]
    for thread in writers:
        thread.start()
    try:
        for _ in range(30):
            emit(Event.PERSIST_STATE, actor=actor)
            wait_for_listeners(actor=actor)
            read_snapshot()
    finally:
        stop.set()
        for thread in writers:
            thread.join(10)
    actor.exit()
    read_snapshot()
    assert snapshots
    for snapshot in snapshots:
        assert snapshot['a'] + snapshot['b'] == 100
        log = snapshot['log']
        assert isinstance(log, list)
        assert not log or log[-1] == snapshot['a']
