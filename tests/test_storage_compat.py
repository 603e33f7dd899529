"""Compatibility with the official tools' local files, in both directions.

The fixtures are written by hand exactly as the official SDK (apify 4.1.0 on crawlee 1.11.0)
and the Apify CLI lay out their files (the layout is described in the docstrings of
``actorkit/storages/_local/`` and checked live against the official SDK by ``tox -e official``):
actorkit must read them; and what actorkit writes must have exactly the official layout, so that
the official SDK reads it.
"""

from __future__ import annotations

import importlib.util
import json
import re
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from actorkit.storages._dataset import Dataset
from actorkit.storages._key_value_store import KeyValueStore
from actorkit.storages._local import LocalStorageBackend

OFFICIAL_TIME = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00')
"""``str(datetime)`` of a UTC time: how the official SDK writes datetimes."""

JSON = 'application/json; charset=utf-8'


def official_json(value: Any) -> bytes:
    """Serialize as the official SDK's files are written."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode('utf-8')


def write_official_metadata(folder: Path, **fields: Any) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = '2026-11-22 04:46:29.685100+00:00'
    data = {
        'id': fields.pop('id'),
        'name': fields.pop('name', None),
        'accessed_at': stamp,
        'created_at': stamp,
        'modified_at': stamp,
        **fields,
    }
    (folder / '__metadata__.json').write_bytes(official_json(data))
    return data


def write_official_record(folder: Path, key: str, value: Any, content_type: str) -> None:
    name = urllib.parse.quote(key, safe='')
    if isinstance(value, bytes):
        body = value
    elif 'application/json' in content_type:
        body = official_json(value)
    else:
        body = str(value).encode('utf-8')
    (folder / name).write_bytes(body)
    sidecar = {'key': key, 'content_type': content_type, 'size': len(body)}
    (folder / f'{name}.__metadata__.json').write_bytes(official_json(sidecar))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / 'storage'


@pytest.fixture
def keeping(root: Path) -> Iterator[LocalStorageBackend]:
    backend = LocalStorageBackend(root, purge_on_start=False)
    yield backend
    backend.close()


# ----------------------------------------------------------------------------- reading theirs


def test_official_dataset_is_read(root: Path, keeping: LocalStorageBackend) -> None:
    """Items and metadata written by the official SDK read back exactly."""
    folder = root / 'datasets' / 'results'
    write_official_metadata(folder, id='OfficialDataset01', name='results', item_count=3)
    items = [{'n': n, 'title': f'Zoë {n}', 'tags': ['a', None]} for n in range(1, 4)]
    for n, item in enumerate(items, start=1):
        (folder / f'{n:09d}.json').write_bytes(official_json(item))
    (folder / '000000004.json.k3jd8.json.tmp').write_text('{"torn": ')  # its temp leftover
    dataset = Dataset(keeping.open_dataset(name='results'))
    meta = dataset.get_metadata()
    assert (meta.id, meta.name, meta.item_count) == ('OfficialDataset01', 'results', 3)
    assert meta.created_at == datetime(2026, 11, 22, 4, 46, 29, 685100, tzinfo=timezone.utc)
    assert list(dataset.iterate_items()) == items
    assert Dataset(keeping.open_dataset(id='OfficialDataset01')).client is dataset.client
    dataset.push_data({'n': 4})
    assert (folder / '000000004.json').exists()
    assert json.loads((folder / '__metadata__.json').read_text())['item_count'] == 4


def test_official_key_value_store_is_read(root: Path, keeping: LocalStorageBackend) -> None:
    """Records with sidecars, odd keys, x-none and the official input sidecar all read back."""
    folder = root / 'key_value_stores' / 'default'
    write_official_metadata(folder, id='OfficialStore0001')
    write_official_record(folder, 'OUTPUT', {'ok': True, 'list': [1, 2]}, JSON)
    write_official_record(folder, 'a/b c?', 'odd key', 'text/plain; charset=utf-8')
    write_official_record(folder, 'count', 42, 'text/plain; charset=utf-8')
    write_official_record(folder, 'shot', b'\x89PNG\r\n', 'image/png')
    write_official_record(folder, 'nothing', b'', 'application/x-none')
    body = b'{\n  "query": "x"\n}'
    (folder / 'INPUT.json').write_bytes(body)
    (folder / 'INPUT.json.__metadata__.json').write_bytes(
        official_json({'key': 'INPUT', 'content_type': JSON, 'size': len(body)})
    )
    (folder / 'OUTPUT.x1y2z3.tmp').write_bytes(b'{"partial"')  # a temp file of a crashed write
    kvs = KeyValueStore(keeping.open_key_value_store())
    assert kvs.id == 'OfficialStore0001'
    assert kvs.name is None
    assert (folder / 'a%2Fb%20c%3F').exists()
    assert kvs.get_value('OUTPUT') == {'ok': True, 'list': [1, 2]}
    assert kvs.get_value('a/b c?') == 'odd key'
    assert kvs.get_value('count') == '42'  # the official SDK stored an int as text
    assert kvs.get_value('shot') == b'\x89PNG\r\n'
    assert kvs.record_exists('nothing')
    assert kvs.get_value('nothing', 'default') is None
    assert kvs.get_value('INPUT') == {'query': 'x'}
    keys = {info.key: info.size for info in kvs.iterate_keys()}
    assert keys == {
        'INPUT': len(body),
        'OUTPUT': len(official_json({'ok': True, 'list': [1, 2]})),
        'a/b c?': 7,
        'count': 2,
        'nothing': 0,
        'shot': 6,
    }


def test_cli_storage_is_read(root: Path, keeping: LocalStorageBackend) -> None:
    """CLI metadata (camelCase, name "default"), tab-indented items and KEY.ext records."""
    stamp = '2026-01-02T03:04:05.678Z'
    datasets = root / 'datasets' / 'default'
    datasets.mkdir(parents=True)
    (datasets / '__metadata__.json').write_text(
        json.dumps(
            {
                'id': 'CliDataset0000001',
                'name': 'default',
                'userId': 'abc',
                'createdAt': stamp,
                'modifiedAt': stamp,
                'accessedAt': stamp,
                'itemCount': 2,
            },
            indent='\t',
        )
    )
    for n in (1, 2):
        (datasets / f'{n:09d}.json').write_text(json.dumps({'cli': n}, indent='\t'))
    stores = root / 'key_value_stores' / 'default'
    stores.mkdir(parents=True)
    (stores / '__metadata__.json').write_text(
        json.dumps(
            {
                'id': 'CliStore000000001',
                'name': 'default',
                'createdAt': stamp,
                'modifiedAt': stamp,
                'accessedAt': stamp,
            },
            indent='\t',
        )
    )
    (stores / 'INPUT.json').write_text('{\n\t"start": "https://example.com"\n}')
    (stores / 'OUTPUT.bin').write_bytes(b'\x00\x01')
    dataset = Dataset(keeping.open_dataset())
    assert dataset.id == 'CliDataset0000001'
    assert dataset.name is None
    assert dataset.item_count == 2
    assert [item['cli'] for item in dataset.iterate_items()] == [1, 2]
    kvs = KeyValueStore(keeping.open_key_value_store())
    assert kvs.id == 'CliStore000000001'
    assert kvs.get_metadata().created_at.year == 2026
    assert kvs.get_value('INPUT') == {'start': 'https://example.com'}
    assert kvs.get_value('OUTPUT') == b'\x00\x01'
    assert sorted(info.key for info in kvs.iterate_keys()) == ['INPUT', 'OUTPUT']


# ----------------------------------------------------------------------------- writing ours


def assert_official_metadata(path: Path, keys: list[str]) -> dict[str, Any]:
    raw = path.read_bytes()
    data: dict[str, Any] = json.loads(raw)
    assert list(data) == keys
    assert raw == official_json(data), 'formatting differs from json.dumps(indent=2)'
    assert not raw.endswith(b'\n')
    assert re.fullmatch(r'[A-Za-z0-9]{17}', data['id'])
    for field in ('accessed_at', 'created_at', 'modified_at'):
        assert OFFICIAL_TIME.fullmatch(data[field]), data[field]
        assert str(datetime.fromisoformat(data[field])) == data[field]
    return data


def test_written_files_have_the_official_layout(root: Path) -> None:
    """Metadata, items, records and sidecars are byte for byte what the official SDK writes."""
    backend = LocalStorageBackend(root, purge_on_start=True)
    dataset = Dataset(backend.open_dataset())
    named = Dataset(backend.open_dataset(name='named-one'))
    kvs = KeyValueStore(backend.open_key_value_store())
    items = [{'url': 'https://example.com/ü', 'n': n, 'nested': {'x': [n, None]}} for n in range(3)]
    dataset.push_data(items)
    named.push_data(items[0])
    values: dict[str, Any] = {
        'OUTPUT': {'ok': True},
        'text': 'plain ünï',
        'blob': b'\x00\xff',
        "odd(key)'s!": [1, 2],
    }
    for key, value in values.items():
        kvs.set_value(key, value)
    backend.close()

    dataset_keys = ['id', 'name', 'accessed_at', 'created_at', 'modified_at', 'item_count']
    meta = assert_official_metadata(
        root / 'datasets' / 'default' / '__metadata__.json', dataset_keys
    )
    assert meta['name'] is None
    assert meta['item_count'] == 3
    meta = assert_official_metadata(
        root / 'datasets' / 'named-one' / '__metadata__.json', dataset_keys
    )
    assert meta['name'] == 'named-one'
    assert meta['item_count'] == 1
    kvs_keys = ['id', 'name', 'accessed_at', 'created_at', 'modified_at']
    assert_official_metadata(root / 'key_value_stores' / 'default' / '__metadata__.json', kvs_keys)

    folder = root / 'datasets' / 'default'
    assert sorted(p.name for p in folder.iterdir()) == [
        '000000001.json',
        '000000002.json',
        '000000003.json',
        '__metadata__.json',
    ]
    for n, item in enumerate(items, start=1):
        assert (folder / f'{n:09d}.json').read_bytes() == official_json(item)

    store = root / 'key_value_stores' / 'default'
    expected_types = {
        'OUTPUT': JSON,
        'text': 'text/plain; charset=utf-8',
        'blob': 'application/octet-stream',
        "odd(key)'s!": JSON,
    }
    for key, value in values.items():
        name = urllib.parse.quote(key, safe='')
        body = (store / name).read_bytes()
        if isinstance(value, bytes):
            assert body == value
        elif isinstance(value, str):
            assert body == value.encode('utf-8')
        else:
            assert body == official_json(value)
        sidecar = (store / f'{name}.__metadata__.json').read_bytes()
        assert sidecar == official_json(
            {'key': key, 'content_type': expected_types[key], 'size': len(body)}
        )
    assert not any(p.name.endswith('.lock') for p in store.iterdir())
    assert not any(p.name.startswith('.') for p in store.iterdir())


def test_the_official_readers_logic_sees_our_files(root: Path) -> None:
    """Read our folders the way the official SDK does: glob *.json by number; sidecars for keys."""
    backend = LocalStorageBackend(root, purge_on_start=True)
    Dataset(backend.open_dataset()).push_data([{'n': n} for n in range(12)])
    kvs = KeyValueStore(backend.open_key_value_store())
    kvs.set_value('state', {'a': 1})
    kvs.set_value('note', 'hi')
    backend.close()

    folder = root / 'datasets' / 'default'
    files = sorted(folder.glob('*.json'), key=lambda f: int(f.stem) if f.stem.isdigit() else 0)
    items = [json.loads(f.read_text()) for f in files if f.name != '__metadata__.json']
    assert items == [{'n': n} for n in range(12)]

    store = root / 'key_value_stores' / 'default'
    records = {}
    for sidecar in sorted(store.glob('*.__metadata__.json')):
        if sidecar.name == '__metadata__.json':
            continue
        meta = json.loads(sidecar.read_text())
        value_file = store / urllib.parse.quote(meta['key'], safe='')
        body = value_file.read_bytes()
        assert meta['size'] == len(body)
        if 'application/json' in meta['content_type']:
            records[meta['key']] = json.loads(body)
        else:
            records[meta['key']] = body.decode()
    assert records == {'state': {'a': 1}, 'note': 'hi'}


@pytest.mark.skipif(
    importlib.util.find_spec('actorkit.storages._local._request_queue') is None,
    reason='the local request queue is not there yet',
)
def test_request_queue_folder_gets_official_metadata(root: Path) -> None:
    """A new request queue folder has metadata with the official fields."""
    backend = LocalStorageBackend(root, purge_on_start=True)
    queue = backend.open_request_queue()
    assert queue.id
    backend.close()
    data = json.loads((root / 'request_queues' / 'default' / '__metadata__.json').read_text())
    for field in (
        'id',
        'name',
        'accessed_at',
        'created_at',
        'modified_at',
        'had_multiple_clients',
        'handled_request_count',
        'pending_request_count',
        'total_request_count',
    ):
        assert field in data
    assert data['name'] is None


class _Text(str):
    pass


@pytest.mark.parametrize(
    'value',
    [
        {'a': 1, 'b': [1, 2, {'c': None}], 'd': {}, 'e': [], 'f': True, 'g': False},
        {'floats': [0.1, -0.0, 1e16, 1.5e-10, 123456789.125, 2.0**60]},
        {'ints': [0, -1, 10**30, True]},
        {'text': 'quote " backslash \\ tab \t newline \n control \x01 unicode ü 😀 \u2028'},
        {'ü-key': 'ñ', '': 'empty key'},
        {'tuple': (1, 2), 'nested': [[[[]]]]},
        {'subclass': _Text('str subclass')},
        [{'list': 'of items'}],
    ],
)
def test_fast_json_matches_json_dumps(value: Any) -> None:
    """pretty_json writes exactly what json.dumps(indent=2, ensure_ascii=False) writes."""
    from actorkit.storages._serialization import pretty_json

    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_fast_json_refuses_what_json_dumps_would_change() -> None:
    """Non-str dict keys, which json.dumps would silently stringify, are refused."""
    from actorkit.storages._serialization import pretty_json

    with pytest.raises(TypeError, match='key of type float'):
        pretty_json({'a': {2.5: 'float key'}})
