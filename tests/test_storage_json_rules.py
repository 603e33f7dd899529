"""One set of JSON rules for everything stored: items, records and request user_data."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actorkit import Actor, InvalidStorageArgumentError
from actorkit.storages import Request
from actorkit.storages._serialization import MAX_JSON_DEPTH

MakeActor = Callable[..., Actor]

BAD_USER_DATA = [
    pytest.param({'score': math.nan}, 'nan', id='nan'),
    pytest.param({'score': math.inf}, 'inf', id='infinity'),
    pytest.param({'nested': [{'x': -math.inf}]}, 'inf', id='nested-infinity'),
    pytest.param({'by_id': {7: 'seven'}}, r'key of type int \(7\)', id='int-key'),
    pytest.param({'tags': {'a', 'b'}}, 'type set', id='set'),
]


def nest(depth: int, leaf: Any) -> Any:
    """Return ``leaf`` wrapped in ``depth`` lists."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def running(make_actor: MakeActor) -> Actor:
    actor = make_actor()
    actor.init()
    return actor


def request_files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / 'storage' / 'request_queues' / 'default'
    return sorted(path for path in folder.glob('*.json') if not path.name.startswith('__'))


@pytest.mark.parametrize(('user_data', 'reason'), BAD_USER_DATA)
def test_user_data_in_a_dict_follows_the_item_rules(
    running: Actor, tmp_path: Path, user_data: dict[str, Any], reason: str
) -> None:
    """A request dict whose user_data has no JSON form is refused, naming the field."""
    queue = running.open_request_queue()
    with pytest.raises(InvalidStorageArgumentError, match=rf'request\.user_data .*{reason}'):
        queue.add_request({'url': 'https://example.com', 'user_data': user_data})
    assert request_files(tmp_path) == []
    assert queue.get_total_count() == 0


@pytest.mark.parametrize(('user_data', 'reason'), BAD_USER_DATA)
def test_request_from_url_refuses_user_data_with_no_json_form(
    user_data: dict[str, Any], reason: str
) -> None:
    """Request.from_url checks user_data as it builds the request."""
    with pytest.raises(InvalidStorageArgumentError, match=rf'user_data .*{reason}'):
        Request.from_url('https://example.com', user_data=user_data)


def test_add_requests_names_the_bad_request_and_writes_nothing(
    running: Actor, tmp_path: Path
) -> None:
    """One bad user_data among many refuses the whole call, naming its index."""
    queue = running.open_request_queue()
    good = Request.from_url('https://example.com/1', user_data={'ok': 1})
    bad = Request.from_url('https://example.com/2')
    bad.user_data[1] = 'int key'  # type: ignore[index]
    with pytest.raises(InvalidStorageArgumentError, match=r'requests\[1\]\.user_data .*int'):
        queue.add_requests([good, bad, 'https://example.com/3'])
    assert request_files(tmp_path) == []


@pytest.mark.parametrize('method', ['reclaim_request', 'mark_request_as_handled'])
def test_user_data_edited_by_a_handler_is_checked_before_it_is_saved(
    running: Actor, tmp_path: Path, method: str
) -> None:
    """A handler that puts NaN into user_data gets an error; the stored request stays valid."""
    queue = running.open_request_queue()
    queue.add_request(Request.from_url('https://example.com', user_data={'n': 1}))
    before = [path.read_bytes() for path in request_files(tmp_path)]
    request = queue.fetch_next_request()
    assert request is not None
    request.user_data['n'] = math.nan
    with pytest.raises(InvalidStorageArgumentError, match=r'user_data .*nan'):
        getattr(queue, method)(request)
    assert [path.read_bytes() for path in request_files(tmp_path)] == before
    for path in request_files(tmp_path):
        json.loads(path.read_bytes(), parse_constant=pytest.fail)
    request.user_data['n'] = 2
    assert getattr(queue, method)(request) is not None


def test_an_item_with_a_non_str_key_deep_down_is_refused(running: Actor, tmp_path: Path) -> None:
    """A non-str key nested far below the top of an item is refused, never stringified."""
    item = {'data': nest(MAX_JSON_DEPTH + 50, {1: 'one'})}
    with pytest.raises(InvalidStorageArgumentError, match='dataset item 0'):
        running.push_data(item)
    shallow_tuple_path = {'data': nest(300, ({2: 'two'},))}
    with pytest.raises(InvalidStorageArgumentError, match=r'key of type int \(2\)'):
        running.push_data(shallow_tuple_path)
    assert not list((tmp_path / 'storage' / 'datasets' / 'default').glob('0*.json'))


@pytest.mark.parametrize('depth', [MAX_JSON_DEPTH + 1, 5_000])
def test_too_deep_data_is_a_storage_error_naming_the_item_or_key(
    running: Actor, tmp_path: Path, depth: int
) -> None:
    """Data nested deeper than JSON readers go gets a storage error, not a RecursionError."""
    deep = nest(depth, 'leaf')
    expected = rf'dataset item 1 .*deeper than {MAX_JSON_DEPTH}.*flatten'
    with pytest.raises(InvalidStorageArgumentError, match=expected):
        running.push_data([{'ok': 1}, {'deep': deep}])
    with pytest.raises(InvalidStorageArgumentError, match=r"key 'DEEP' .*deeper than .*flatten"):
        running.set_value('DEEP', deep)
    queue = running.open_request_queue()
    with pytest.raises(InvalidStorageArgumentError, match=r'user_data .*deeper than'):
        queue.add_request({'url': 'https://example.com', 'user_data': {'deep': deep}})
    assert not list((tmp_path / 'storage' / 'datasets' / 'default').glob('0*.json'))
    assert not (tmp_path / 'storage' / 'key_value_stores' / 'default' / 'DEEP').exists()


def test_data_at_the_depth_limit_round_trips(running: Actor) -> None:
    """An item nested exactly as deep as allowed is stored and read back."""
    item = {'deep': nest(MAX_JSON_DEPTH - 1, 'leaf')}
    running.push_data(item)
    assert running.open_dataset().list_items() == [item]


def test_a_value_that_contains_itself_is_named_as_such(running: Actor) -> None:
    """A circular value is refused with a message that says it contains itself."""
    looped: dict[str, Any] = {'a': 1}
    looped['self'] = looped
    with pytest.raises(InvalidStorageArgumentError, match=r'dataset item 0 .*contains itself'):
        running.push_data(looped)
    with pytest.raises(InvalidStorageArgumentError, match=r"key 'LOOP' .*contains itself"):
        running.set_value('LOOP', [looped])


def test_too_deep_json_records_are_refused_and_reported(running: Actor, tmp_path: Path) -> None:
    """JSON bytes too deep to read back are refused; such a file on disk is a StorageError."""
    from actorkit import StorageError

    deep = b'[' * 100_000 + b']' * 100_000
    store = running.open_key_value_store()
    with pytest.raises(InvalidStorageArgumentError, match="key 'X' is not valid JSON"):
        store.set_value('X', deep, 'application/json')
    folder = tmp_path / 'storage' / 'key_value_stores' / 'default'
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'DEEP.json').write_bytes(deep)
    with pytest.raises(StorageError, match=r"record 'DEEP' .*nested too deeply"):
        store.get_value('DEEP')
