"""How a dataset push is cut into requests under the platform's body limit (no network)."""

from __future__ import annotations

import itertools
import json

import pytest

from actorkit import InvalidStorageArgumentError, StorageLimitError
from actorkit.storages._platform._dataset import MAX_PAYLOAD_BYTES, split_bodies
from actorkit.storages._serialization import serialize_items_compact


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
