"""How a dataset push is cut into requests under the platform's body limit (no network)."""

from __future__ import annotations

import itertools
import json

import pytest

from actorkit import InvalidStorageArgumentError, StorageLimitError
from actorkit.storages._platform._dataset import MAX_PAYLOAD_BYTES, split_bodies
from actorkit.storages._serialization import encode_items_compact, serialize_items_compact


def _items(bodies: list[bytes]) -> list[object]:
    return [item for body in bodies for item in json.loads(body)]


def test_a_batch_that_fits_is_one_array() -> None:
    """A batch under the limit becomes one JSON array, in order."""
    items = [{'n': n, 'text': 'é' * n} for n in range(50)]
    chunks = split_bodies(serialize_items_compact(items))
    assert len(chunks) == 1
    assert json.loads(chunks[0]) == items


def test_chunks_stay_under_the_limit_and_keep_the_order() -> None:
    """Items are packed greedily into arrays each shorter than the limit, order kept."""
    items = [{'n': n, 'pad': 'x' * (97 + n % 13)} for n in range(1000)]
    bodies = serialize_items_compact(items)
    limit = 5_000
    chunks = split_bodies(bodies, limit)
    assert all(len(chunk) < limit for chunk in chunks)
    assert _items(chunks) == items
    # Greedy: adding the next chunk's first item would have crossed the limit.
    for chunk, following in itertools.pairwise(chunks):
        first = json.dumps(json.loads(following)[0], separators=(',', ':')).encode()
        assert len(chunk) + 1 + len(first) >= limit


def test_an_item_exactly_at_the_edge_gets_its_own_request() -> None:
    """An item whose array is one byte under the limit is sent alone."""
    limit = 100
    edge = b'{"a":"' + b'x' * (limit - 3 - 8) + b'"}'
    assert len(edge) + 2 == limit - 1
    chunks = split_bodies([b'{}', edge, b'{}'], limit)
    assert chunks == [b'[{}]', b'[' + edge + b']', b'[{}]']


def test_an_item_too_large_for_a_request_is_refused_by_index() -> None:
    """A single item that cannot fit in one request fails the whole push, naming its index."""
    big = b'"' + b'x' * MAX_PAYLOAD_BYTES + b'"'
    with pytest.raises(StorageLimitError, match=r'dataset item 2 is 9,437,186 bytes'):
        split_bodies([b'{}', b'{}', big])


def test_items_that_are_not_json_are_refused_before_serializing_the_rest() -> None:
    """A NaN, a set or a non-str key is refused with the item's index."""
    with pytest.raises(InvalidStorageArgumentError, match='dataset item 1 cannot be stored'):
        serialize_items_compact([{'ok': 1}, {'bad': float('nan')}])
    with pytest.raises(InvalidStorageArgumentError, match='dataset item 0 cannot be stored'):
        serialize_items_compact([{'bad': {1, 2}}])
    with pytest.raises(InvalidStorageArgumentError, match='not a str'):
        serialize_items_compact([{'nested': {1: 'x'}}])
    with pytest.raises(InvalidStorageArgumentError, match='dataset item 0 is a list'):
        serialize_items_compact([[1, 2]])


def test_compact_items_follow_the_local_rules_for_tuples_depth_and_cycles() -> None:
    """Tuples are lists, nesting past the depth limit and cycles are refused, as locally."""
    assert serialize_items_compact([{'t': (1, 'a')}]) == [b'{"t":[1,"a"]}']
    deep: dict[str, object] = {}
    node = deep
    for _ in range(600):
        child: dict[str, object] = {}
        node['x'] = child
        node = child
    with pytest.raises(InvalidStorageArgumentError, match='dataset item 0'):
        serialize_items_compact([deep])
    looped: dict[str, object] = {}
    looped['self'] = looped
    with pytest.raises(InvalidStorageArgumentError, match='dataset item 1'):
        serialize_items_compact([{}, looped])


def test_a_whole_batch_encodes_as_the_items_joined() -> None:
    """One encode of the whole batch gives the bytes of the items serialized one by one."""
    items = [{'n': n, 'text': 'é' * n, 'sub': {'l': [n, None, True, 1.5]}} for n in range(600)]
    body = encode_items_compact(items)
    assert body == b'[' + b','.join(serialize_items_compact(items)) + b']'
    assert json.loads(body) == items
    assert encode_items_compact([{'t': (1, 'a')}, {'ok': 1}]) == b'[{"t":[1,"a"]},{"ok":1}]'


def test_a_whole_batch_refuses_what_one_item_would_naming_the_item() -> None:
    """NaN, infinity, a set, a non-str key deep down, a cycle and a non-dict name their item."""
    deep_key: dict[str, object] = {'a': [{'b': {2: 'x'}}]}
    looped: dict[str, object] = {}
    looped['self'] = looped
    cases: list[tuple[object, str]] = [
        ({'bad': float('nan')}, 'dataset item 3 cannot be stored'),
        ({'bad': [float('-inf')]}, 'dataset item 3 cannot be stored'),
        ({'bad': {1, 2}}, 'dataset item 3 cannot be stored.*set'),
        (deep_key, 'dataset item 3 cannot be stored.*not a str'),
        ({True: 1}, 'dataset item 3 cannot be stored.*not a str'),
        (looped, 'dataset item 3 cannot be stored.*contains itself'),
        ([1, 2], 'dataset item 3 is a list'),
    ]
    for bad, message in cases:
        with pytest.raises(InvalidStorageArgumentError, match=message):
            encode_items_compact([{'ok': n} for n in range(3)] + [bad, {'ok': 4}])


def _nested(levels: int, leaf: object) -> dict[str, object]:
    """Return a dict ``levels`` containers deep (the dict itself counts) around ``leaf``."""
    item: dict[str, object] = {'x': leaf}
    for _ in range(levels - 1):
        item = {'x': item}
    return item


def test_a_whole_batch_keeps_the_depth_limit() -> None:
    """Items at the depth limit pass (an empty container one level below too); deeper fails."""
    at_limit = _nested(500, 1)
    empty_below = _nested(500, {})
    assert json.loads(encode_items_compact([{}, at_limit, empty_below])) == [
        {},
        at_limit,
        empty_below,
    ]
    with pytest.raises(InvalidStorageArgumentError, match=r'dataset item 1 cannot be stored.*deep'):
        encode_items_compact([{}, _nested(500, {'y': 1}), {}])
    with pytest.raises(InvalidStorageArgumentError, match=r'dataset item 2 cannot be stored.*deep'):
        encode_items_compact([{}, {}, _nested(2000, 1)])


def test_many_shallow_containers_are_not_mistaken_for_depth() -> None:
    """A batch with thousands of nested but shallow containers is accepted as it is."""
    items = [{'a': {'b': [{'c': n}]}} for n in range(2000)]
    assert json.loads(encode_items_compact(items)) == items
