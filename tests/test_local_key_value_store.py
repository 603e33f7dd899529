"""The local key-value store: values, content types, files on disk, CLI records, purge."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actorkit._errors import InvalidStorageArgumentError, StorageError
from actorkit.storages._key_value_store import KeyValueStore
from actorkit.storages._local import LocalStorageBackend
from actorkit.storages._local._key_value_store import sidecar_bytes
from actorkit.storages._serialization import dump_json
from tests._fs_calls import count_fs_calls

JSON = 'application/json; charset=utf-8'
TEXT = 'text/plain; charset=utf-8'
BINARY = 'application/octet-stream'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / 'storage'


@pytest.fixture
def backend(root: Path) -> Iterator[LocalStorageBackend]:
    made = LocalStorageBackend(root, purge_on_start=True)
    yield made
    made.close()


@pytest.fixture
def keeping(root: Path) -> Iterator[LocalStorageBackend]:
    """A backend with purge off, for stores prepared by hand."""
    made = LocalStorageBackend(root, purge_on_start=False)
    yield made
    made.close()


@pytest.fixture
def kvs(backend: LocalStorageBackend) -> KeyValueStore:
    return KeyValueStore(backend.open_key_value_store())


def folder(root: Path, name: str = 'default') -> Path:
    return root / 'key_value_stores' / name


def snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}


def sidecar(root: Path, file: str, name: str = 'default') -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (folder(root, name) / f'{file}.__metadata__.json').read_text()
    )
    return data


@pytest.mark.parametrize(
    ('value', 'content_type'),
    [
        ({'a': 1, 'nested': {'list': [1, 2.5, None, True]}, 'ü': 'ñ'}, JSON),
        ([1, 'two', {'three': 3}], JSON),
        ('plain text ünïcödé', TEXT),
        (42, JSON),
        (-3.25, JSON),
        (True, JSON),
        (False, JSON),
        (b'\x00\x01binary\xff', BINARY),
        ({}, JSON),
        ('', TEXT),
        (b'', BINARY),
    ],
)
def test_values_round_trip_with_their_type(
    kvs: KeyValueStore, root: Path, value: Any, content_type: str
) -> None:
    """A value comes back equal and of the same type, stored with the default content type."""
    kvs.set_value('KEY', value)
    got = kvs.get_value('KEY')
    assert got == value
    assert type(got) is type(value)
    assert sidecar(root, 'KEY')['content_type'] == content_type


def test_bytearray_and_memoryview_are_stored_as_bytes(kvs: KeyValueStore) -> None:
    """Bytes-like values are stored as binary and read back as bytes."""
    kvs.set_value('a', bytearray(b'abc'))
    kvs.set_value('b', memoryview(b'xyz'))
    assert kvs.get_value('a') == b'abc'
    assert kvs.get_value('b') == b'xyz'


def test_files_have_the_official_bytes(kvs: KeyValueStore, root: Path) -> None:
    """The value file is indent-2 JSON and the sidecar is exactly the official SDK's."""
    value = {'name': 'Zoë', 'items': [1, {'x': None}], 'empty': [], 'float': 1e-07}
    kvs.set_value('my-key', value)
    body = (folder(root) / 'my-key').read_bytes()
    assert body == json.dumps(value, indent=2, ensure_ascii=False).encode('utf-8')
    meta = (folder(root) / 'my-key.__metadata__.json').read_bytes()
    expected = {'key': 'my-key', 'content_type': JSON, 'size': len(body)}
    assert meta == json.dumps(expected, indent=2, ensure_ascii=False).encode('utf-8')


def test_keys_are_url_quoted_into_file_names(kvs: KeyValueStore, root: Path) -> None:
    """Keys with characters outside [A-Za-z0-9_.-] become percent-quoted file names."""
    kvs.set_value("it's(ok)!", 'v')
    assert (folder(root) / 'it%27s%28ok%29%21').read_bytes() == b'v'
    assert sidecar(root, 'it%27s%28ok%29%21')['key'] == "it's(ok)!"
    assert [info.key for info in kvs.iterate_keys()] == ["it's(ok)!"]


def test_explicit_content_types_shape_the_stored_bytes(kvs: KeyValueStore, root: Path) -> None:
    """A str under a binary type is UTF-8; JSON bytes stay as given; text types read as str."""
    kvs.set_value('img', 'ünï', content_type='image/png')
    assert (folder(root) / 'img').read_bytes() == 'ünï'.encode()
    assert kvs.get_value('img') == 'ünï'.encode()

    kvs.set_value('raw-json', b'{"a": [1, 2]}', content_type='application/json')
    assert (folder(root) / 'raw-json').read_bytes() == b'{"a": [1, 2]}'
    assert kvs.get_value('raw-json') == {'a': [1, 2]}

    kvs.set_value('page', '<p>hi</p>', content_type='text/html')
    assert kvs.get_value('page') == '<p>hi</p>'

    kvs.set_value('ld', {'@id': 'x'}, content_type='application/ld+json')
    assert kvs.get_value('ld') == {'@id': 'x'}

    kvs.set_value('quoted', 'text', content_type='application/json')
    assert (folder(root) / 'quoted').read_bytes() == b'"text"'
    assert kvs.get_value('quoted') == 'text'

    kvs.set_value('latin', 'café', content_type='text/plain; charset=latin-1')
    assert (folder(root) / 'latin').read_bytes() == 'café'.encode('latin-1')
    assert kvs.get_value('latin') == 'café'


def test_none_deletes_the_record(kvs: KeyValueStore, root: Path) -> None:
    """Setting None removes the value file and its sidecar."""
    kvs.set_value('gone', {'a': 1})
    kvs.set_value('gone', None)
    assert not kvs.record_exists('gone')
    assert kvs.get_value('gone', 'fallback') == 'fallback'
    assert sorted(p.name for p in folder(root).iterdir()) == ['__metadata__.json']


def test_delete_value_and_record_exists(kvs: KeyValueStore) -> None:
    """record_exists follows set and delete; deleting a missing record is fine."""
    assert not kvs.record_exists('x')
    kvs.set_value('x', 1)
    assert kvs.record_exists('x')
    kvs.delete_value('x')
    kvs.delete_value('x')
    assert not kvs.record_exists('x')


@pytest.mark.parametrize(
    'key', ['', 'a/b', 'a' * 257, 'ünï', 'with space', 'new\nline', 'tail\n', 'semi;colon']
)
def test_bad_keys_are_refused_and_nothing_is_written(
    kvs: KeyValueStore, root: Path, key: str
) -> None:
    """A key outside the platform rule raises an error naming the key; the folder is unchanged."""
    before = snapshot(folder(root))
    with pytest.raises(InvalidStorageArgumentError, match='invalid record key') as info:
        kvs.set_value(key, 'v')
    assert repr(key) in str(info.value)
    if key and len(key) <= 256:  # reads accept any key the official SDK may have stored
        assert kvs.get_value(key, 'default') == 'default'
        assert not kvs.record_exists(key)
        kvs.delete_value(key)
    else:
        with pytest.raises(InvalidStorageArgumentError):
            kvs.get_value(key)
    assert snapshot(folder(root)) == before


def test_non_str_key_is_a_type_error(kvs: KeyValueStore) -> None:
    """A key that is not a str raises TypeError."""
    with pytest.raises(TypeError, match='must be a str'):
        kvs.set_value(5, 'v')  # type: ignore[arg-type]


def test_long_keys_work_up_to_the_file_name_limit(kvs: KeyValueStore, root: Path) -> None:
    """A key whose file name fits (237 characters quoted) works; a longer one is refused."""
    fits = ("azAZ09-_.'()" * 10)[:120]
    kvs.set_value(fits, 'v')
    assert kvs.get_value(fits) == 'v'
    kvs.set_value('a' * 237, 'w')
    assert kvs.get_value('a' * 237) == 'w'
    before = snapshot(folder(root))
    with pytest.raises(InvalidStorageArgumentError, match='too long to be stored locally'):
        kvs.set_value('a' * 238, 'x')
    assert kvs.get_value('a' * 256) is None
    assert snapshot(folder(root)) == before


@pytest.mark.parametrize(
    ('value', 'content_type', 'fragment'),
    [
        ({1, 2}, None, 'type set'),
        (object(), None, 'type object'),
        ({'a': {1, 2}}, None, 'set'),
        (math.nan, None, 'nan'),
        ({'x': math.inf}, None, 'inf'),
        ({'a': 1}, 'image/png', 'dict'),
        (b'not json', 'application/json', 'not valid JSON'),
        (b'\xff\xfe', 'text/plain', 'not utf-8'),
        ('\ud800', None, 'surrogate'),
        ('x', '', 'invalid content_type'),
    ],
)
def test_unstorable_values_are_refused_and_nothing_is_written(
    kvs: KeyValueStore, root: Path, value: Any, content_type: str | None, fragment: str
) -> None:
    """A value that cannot be stored as its content type raises, naming the key; no file appears."""
    kvs.set_value('keep', 'me')
    before = snapshot(folder(root))
    with pytest.raises(InvalidStorageArgumentError) as info:
        kvs.set_value('the-key', value, content_type=content_type)
    assert "'the-key'" in str(info.value)
    assert fragment in str(info.value)
    assert snapshot(folder(root)) == before


def test_list_keys_pages_in_ascending_order(kvs: KeyValueStore) -> None:
    """Pages follow key order, end with is_truncated False, and honour the prefix."""
    keys = [f'k{n:02d}' for n in range(25)] + ['other']
    for key in reversed(keys):
        kvs.set_value(key, key)
    first = kvs.list_keys_page(limit=10)
    assert [i.key for i in first.items] == keys[:10]
    assert first.is_truncated
    assert first.next_exclusive_start_key == 'k09'
    assert first.count == 10
    second = kvs.list_keys_page(exclusive_start_key='k09', limit=10)
    assert [i.key for i in second.items] == keys[10:20]
    last = kvs.list_keys_page(exclusive_start_key='k19', limit=10)
    assert [i.key for i in last.items] == [*keys[20:25], 'other']
    assert not last.is_truncated
    assert last.next_exclusive_start_key is None
    assert [i.key for i in kvs.list_keys_page(prefix='k1').items] == keys[10:20]
    assert [i.key for i in kvs.iterate_keys()] == sorted(keys)
    assert [i.key for i in kvs.iterate_keys(prefix='oth')] == ['other']
    sizes = {i.key: i.size for i in kvs.iterate_keys()}
    assert sizes['k00'] == len('k00')


def write_official_records(target: Path, count: int) -> list[str]:
    """Write ``count`` JSON records as the official SDK lays them out; return their keys."""
    target.mkdir(parents=True, exist_ok=True)
    keys = [f'rec-{n:05d}' for n in range(count)]
    for key in keys:
        body = json.dumps({'key': key}, indent=2).encode()
        (target / key).write_bytes(body)
        meta = {'key': key, 'content_type': JSON, 'size': len(body)}
        (target / f'{key}.__metadata__.json').write_text(json.dumps(meta, indent=2))
    return keys


def test_listing_every_key_page_by_page_lists_the_folder_once(
    keeping: LocalStorageBackend, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paging through all keys costs one listing, and one stat per key listed (not per page)."""
    count = 1000
    keys = write_official_records(folder(root, 'big'), count)
    client = keeping.open_key_value_store(name='big')
    listed: list[str] = []
    with count_fs_calls(monkeypatch, folder(root, 'big')) as calls:
        start = None
        while True:
            page = client.list_keys(exclusive_start_key=start, limit=50, prefix=None)
            listed += [info.key for info in page.items]
            if not page.is_truncated:
                break
            start = page.next_exclusive_start_key
        assert calls.listings <= 2  # once, and once more if the folder was not quiet yet
        assert len([name for name in calls.stats if name != '.']) == count  # the sizes
    assert listed == keys
    assert page.items[-1].size == len(json.dumps({'key': keys[-1]}, indent=2))
    assert page.items[-1].content_type == JSON


def test_opening_a_store_to_read_it_lists_nothing(
    keeping: LocalStorageBackend, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a store and reading a record by its key list no folder."""
    write_official_records(folder(root, 'big'), 5)
    with count_fs_calls(monkeypatch, folder(root, 'big')) as calls:
        kvs = KeyValueStore(keeping.open_key_value_store(name='big'))
        assert kvs.get_value('rec-00003') == {'key': 'rec-00003'}
        assert calls.listings <= 1  # the index of CLI files, built on the first lookup
    with count_fs_calls(monkeypatch, folder(root, 'big')) as calls:
        assert kvs.get_value('rec-00004') == {'key': 'rec-00004'}
        assert calls.listings == 0


def test_listed_keys_follow_own_and_other_clients_changes(root: Path) -> None:
    """Keys set or deleted between pages, here or by another client, show in the next page."""
    mine = LocalStorageBackend(root, purge_on_start=False)
    theirs = LocalStorageBackend(root, purge_on_start=False)
    kvs = KeyValueStore(mine.open_key_value_store(name='shared'))
    other = KeyValueStore(theirs.open_key_value_store(name='shared'))
    for key in ('a', 'c', 'e'):
        kvs.set_value(key, key)
    assert [i.key for i in kvs.iterate_keys()] == ['a', 'c', 'e']
    kvs.set_value('b', 'b')
    kvs.delete_value('e')
    assert [i.key for i in kvs.iterate_keys()] == ['a', 'b', 'c']
    other.set_value('d', 'dd')
    other.delete_value('a')
    assert [(i.key, i.size) for i in kvs.iterate_keys()] == [('b', 1), ('c', 1), ('d', 2)]
    assert [i.key for i in kvs.iterate_keys('b', prefix='c')] == ['c']
    assert [i.key for i in kvs.iterate_keys('c')] == ['d']
    mine.close()
    theirs.close()


@pytest.mark.parametrize('limit', [0, 1001, -1, True, 2.5])
def test_list_keys_refuses_bad_limits(kvs: KeyValueStore, limit: Any) -> None:
    """A page's limit must be an int from 1 to 1000."""
    with pytest.raises(InvalidStorageArgumentError, match='limit'):
        kvs.list_keys_page(limit=limit)


def test_cli_records_are_read_by_their_key(keeping: LocalStorageBackend, root: Path) -> None:
    """KEY.<ext> files without sidecar are records KEY typed by extension, and are listed."""
    store = folder(root)
    store.mkdir(parents=True)
    (store / 'INPUT.json').write_text('{\n\t"q": "ünï"\n}', encoding='utf-8')
    (store / 'note.txt').write_text('hello', encoding='utf-8')
    (store / 'page.html').write_text('<b>x</b>', encoding='utf-8')
    (store / 'table.csv').write_text('a,b\n1,2\n', encoding='utf-8')
    (store / 'image.png').write_bytes(b'\x89PNG')
    (store / 'blob.bin').write_bytes(b'\x00\x01')
    (store / 'odd.qqq').write_bytes(b'?')
    (store / 'bare').write_bytes(b'{"json": true}')
    (store / 'bare-bytes').write_bytes(b'\x00nope')
    kvs = KeyValueStore(keeping.open_key_value_store())
    assert kvs.get_value('INPUT') == {'q': 'ünï'}
    assert kvs.get_value('note') == 'hello'
    assert kvs.get_value('page') == '<b>x</b>'
    assert kvs.get_value('table') == 'a,b\n1,2\n'
    assert kvs.get_value('image') == b'\x89PNG'
    assert kvs.get_value('blob') == b'\x00\x01'
    assert kvs.get_value('odd') == b'?'
    assert kvs.get_value('bare') == {'json': True}
    assert kvs.get_value('bare-bytes') == b'\x00nope'
    assert kvs.get_value('note.txt') is None
    assert kvs.record_exists('note')
    listed = [i.key for i in kvs.iterate_keys()]
    assert listed == sorted(
        ['INPUT', 'note', 'page', 'table', 'image', 'blob', 'odd', 'bare', 'bare-bytes']
    )
    assert kvs.get_public_url('note') == (store / 'note.txt').absolute().as_uri()


def test_writing_a_cli_key_leaves_one_record(keeping: LocalStorageBackend, root: Path) -> None:
    """Setting KEY replaces the CLI's KEY.<ext>; deleting KEY removes it."""
    store = folder(root)
    store.mkdir(parents=True)
    (store / 'note.txt').write_text('old', encoding='utf-8')
    (store / 'other.json').write_text('[1]', encoding='utf-8')
    kvs = KeyValueStore(keeping.open_key_value_store())
    kvs.set_value('note', 'new')
    assert sorted(p.name for p in store.iterdir()) == [
        '__metadata__.json',
        'note',
        'note.__metadata__.json',
        'other.json',
    ]
    assert kvs.get_value('note') == 'new'
    assert [i.key for i in kvs.iterate_keys()] == ['note', 'other']
    kvs.delete_value('other')
    assert not (store / 'other.json').exists()


def test_cli_file_written_after_open_is_found(kvs: KeyValueStore, root: Path) -> None:
    """A CLI file that appears while the store is open is read by its key."""
    assert kvs.get_value('late') is None
    kvs.set_value('mine', 1)
    (folder(root) / 'late.json').write_text('{"late": 1}', encoding='utf-8')
    assert kvs.get_value('late') == {'late': 1}
    assert kvs.record_exists('late')


@pytest.mark.parametrize('second', ['INPUT', 'INPUT.txt'])
def test_two_files_for_one_key_are_an_error(
    keeping: LocalStorageBackend, root: Path, second: str
) -> None:
    """Reading a key held by two files raises an error naming both; setting it resolves it."""
    store = folder(root)
    store.mkdir(parents=True)
    (store / 'INPUT.json').write_text('{"a": 1}', encoding='utf-8')
    (store / second).write_text('{"b": 2}', encoding='utf-8')
    kvs = KeyValueStore(keeping.open_key_value_store())
    with pytest.raises(StorageError, match='more than one file') as info:
        kvs.get_value('INPUT')
    assert 'INPUT.json' in str(info.value)
    assert second in str(info.value).replace('INPUT.json', '')
    kvs.set_value('INPUT', {'c': 3})
    assert kvs.get_value('INPUT') == {'c': 3}
    assert sorted(p.name for p in store.iterdir()) == [
        'INPUT',
        'INPUT.__metadata__.json',
        '__metadata__.json',
    ]


def test_official_input_sidecar_names_the_key(keeping: LocalStorageBackend, root: Path) -> None:
    """INPUT.json with the official SDK's sidecar (key INPUT) is record INPUT, not INPUT.json."""
    store = folder(root)
    store.mkdir(parents=True)
    body = b'{"url": "https://example.com"}'
    (store / 'INPUT.json').write_bytes(body)
    meta = {'key': 'INPUT', 'content_type': JSON, 'size': len(body)}
    (store / 'INPUT.json.__metadata__.json').write_text(json.dumps(meta, indent=2))
    kvs = KeyValueStore(keeping.open_key_value_store())
    assert kvs.get_value('INPUT') == {'url': 'https://example.com'}
    assert kvs.get_value('INPUT.json') is None
    assert [i.key for i in kvs.iterate_keys()] == ['INPUT']


def test_dotted_keys_stay_separate_from_their_stem(kvs: KeyValueStore) -> None:
    """Records 'data' and 'data.json' written by actorkit are two records."""
    kvs.set_value('data.json', {'a': 1})
    kvs.set_value('data', 'plain')
    assert kvs.get_value('data.json') == {'a': 1}
    assert kvs.get_value('data') == 'plain'
    assert [i.key for i in kvs.iterate_keys()] == ['data', 'data.json']
    kvs.delete_value('data')
    assert kvs.get_value('data.json') == {'a': 1}


def test_stale_sidecar_trusts_the_value_file(kvs: KeyValueStore, root: Path) -> None:
    """A sidecar whose size disagrees with the value is ignored for size and checked for type."""
    kvs.set_value('rec', {'a': 1})
    (folder(root) / 'rec').write_bytes(b'{"a": 1, "b": 2}')  # new JSON value, old sidecar
    assert kvs.get_value('rec') == {'a': 1, 'b': 2}
    assert kvs.list_keys()[0].size == len(b'{"a": 1, "b": 2}')
    (folder(root) / 'rec').write_bytes(b'\x89PNG binary')  # does not fit the old JSON type
    assert kvs.get_value('rec') == b'\x89PNG binary'


def test_lone_value_file_reads_like_a_cli_file(kvs: KeyValueStore, root: Path) -> None:
    """A value file whose sidecar is missing (a crash between the renames) is still readable."""
    kvs.set_value('rec', {'a': 1})
    (folder(root) / 'rec.__metadata__.json').unlink()
    assert kvs.get_value('rec') == {'a': 1}
    assert [i.key for i in kvs.iterate_keys()] == ['rec']


def test_orphan_sidecar_is_no_record(kvs: KeyValueStore, root: Path) -> None:
    """A sidecar without its value file is ignored."""
    kvs.set_value('rec', 'x')
    (folder(root) / 'rec').unlink()
    assert kvs.get_value('rec') is None
    assert not kvs.record_exists('rec')
    assert list(kvs.iterate_keys()) == []


def test_temp_hidden_and_lock_files_are_never_keys(kvs: KeyValueStore, root: Path) -> None:
    """Temp files, dot files and the official SDK's *.tmp leftovers are not listed or read."""
    store = folder(root)
    (store / '.actorkit-tmp-OUTPUT.123.0').write_bytes(b'{}')
    (store / '.DS_Store').write_bytes(b'junk')
    (store / 'OUTPUT.abc123.tmp').write_bytes(b'{}')
    kvs.set_value('real', 1)
    assert [i.key for i in kvs.iterate_keys()] == ['real']
    assert kvs.get_value('OUTPUT') is None
    assert kvs.get_value('.DS_Store') is None
    assert not any(p.name.endswith('.lock') for p in store.iterdir())


def test_public_url_is_a_file_url_of_the_value(kvs: KeyValueStore, root: Path) -> None:
    """get_public_url gives the file:// URL of the value file."""
    kvs.set_value('a(b)', 1)
    url = kvs.get_public_url('a(b)')
    assert url == (folder(root) / 'a%28b%29').absolute().as_uri()
    assert url.startswith('file://')


def test_reading_never_writes(kvs: KeyValueStore, root: Path) -> None:
    """get, exists, list and metadata reads change no file."""
    kvs.set_value('a', {'x': 1})
    kvs.get_metadata()
    store = folder(root)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in store.iterdir()}
    for _ in range(3):
        kvs.get_value('a')
        kvs.get_value('missing')
        kvs.record_exists('a')
        kvs.list_keys()
        kvs.get_metadata()
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in store.iterdir()}
    assert after == before


def test_metadata_records_the_last_change(root: Path) -> None:
    """modified_at moves forward with writes and is on disk after close()."""
    backend = LocalStorageBackend(root, purge_on_start=False)
    kvs = KeyValueStore(backend.open_key_value_store())
    created = kvs.get_metadata()
    kvs.set_value('a', 1)
    kvs.set_value('b', 2)
    latest = kvs.get_metadata().modified_at
    assert latest >= created.modified_at
    backend.close()
    on_disk = json.loads((folder(root) / '__metadata__.json').read_text())
    assert on_disk['modified_at'] == str(latest)
    assert on_disk['id'] == kvs.id
    assert on_disk['name'] is None


def test_purge_keeps_only_the_input(root: Path) -> None:
    """Opening the default store with purge on deletes every record except the input."""
    store = folder(root)
    store.mkdir(parents=True)
    for name in (
        'INPUT.json',
        'INPUT.json.__metadata__.json',
        'OUTPUT',
        'OUTPUT.__metadata__.json',
    ):
        (store / name).write_text('{}')
    (store / 'note.txt').write_text('x')
    backend = LocalStorageBackend(root, purge_on_start=True)
    kvs = KeyValueStore(backend.open_key_value_store())
    assert sorted(p.name for p in store.iterdir()) == [
        'INPUT.json',
        'INPUT.json.__metadata__.json',
        '__metadata__.json',
    ]
    kvs.set_value('OUTPUT', 1)
    assert backend.open_key_value_store() is kvs.client  # opened again: not purged again
    assert kvs.get_value('OUTPUT') == 1
    backend.close()


def test_custom_input_key_survives_purge(root: Path) -> None:
    """Purge keeps the record named by input_key."""
    store = folder(root)
    store.mkdir(parents=True)
    (store / '__CLI_INPUT.json').write_text('{"a": 1}')
    (store / 'INPUT.json').write_text('{"b": 2}')
    backend = LocalStorageBackend(root, purge_on_start=True, input_key='__CLI_INPUT')
    kvs = KeyValueStore(backend.open_key_value_store())
    assert kvs.get_value('__CLI_INPUT') == {'a': 1}
    assert kvs.get_value('INPUT') is None
    backend.close()


def test_named_store_is_never_purged(root: Path) -> None:
    """A named store keeps its records when opened with purge on."""
    first = LocalStorageBackend(root, purge_on_start=True)
    KeyValueStore(first.open_key_value_store(name='keep')).set_value('a', 1)
    first.close()
    second = LocalStorageBackend(root, purge_on_start=True)
    assert KeyValueStore(second.open_key_value_store(name='keep')).get_value('a') == 1
    second.close()


def test_drop_removes_the_store(backend: LocalStorageBackend, root: Path) -> None:
    """drop deletes the folder; the store is unusable and opening again makes a new one."""
    kvs = KeyValueStore(backend.open_key_value_store(name='tmp'))
    kvs.set_value('a', 1)
    kvs.drop()
    assert not folder(root, 'tmp').exists()
    with pytest.raises(StorageError, match='dropped'):
        kvs.get_value('a')
    again = KeyValueStore(backend.open_key_value_store(name='tmp'))
    assert again.id != kvs.id
    assert again.get_value('a') is None


def test_store_dropped_by_another_process_comes_back_on_write(
    kvs: KeyValueStore, root: Path
) -> None:
    """A write after the folder vanished recreates it with the same id."""
    import shutil

    shutil.rmtree(folder(root))
    kvs.set_value('a', 1)
    assert kvs.get_value('a') == 1
    assert json.loads((folder(root) / '__metadata__.json').read_text())['id'] == kvs.id


def test_corrupt_json_record_names_the_key(kvs: KeyValueStore, root: Path) -> None:
    """A record labelled JSON that does not parse raises an error naming the key."""
    kvs.set_value('bad', {'a': 1})
    (folder(root) / 'bad').write_bytes(b'{"a": 1')  # 7 bytes: size now disagrees
    (folder(root) / 'bad.__metadata__.json').write_text(
        json.dumps({'key': 'bad', 'content_type': JSON, 'size': 7})
    )
    with pytest.raises(StorageError, match=r"record 'bad'.*not valid JSON"):
        kvs.get_value('bad')


def test_official_none_record_reads_as_none(keeping: LocalStorageBackend, root: Path) -> None:
    """A record of the official SDK's application/x-none type reads as None but exists."""
    store = folder(root)
    store.mkdir(parents=True)
    (store / 'nothing').write_bytes(b'')
    meta = {'key': 'nothing', 'content_type': 'application/x-none', 'size': 0}
    (store / 'nothing.__metadata__.json').write_text(json.dumps(meta))
    kvs = KeyValueStore(keeping.open_key_value_store())
    assert kvs.record_exists('nothing')
    assert kvs.get_value('nothing', 'default') is None


def test_threads_writing_keys_concurrently_keep_pairs_consistent(kvs: KeyValueStore) -> None:
    """Threads setting and reading the same keys always read a value of a type they wrote."""
    import threading

    errors: list[BaseException] = []
    start = threading.Event()

    def worker(n: int) -> None:
        start.wait()
        try:
            for i in range(200):
                value: Any = {'n': n, 'i': i} if i % 2 else f'text {n} {i}'
                kvs.set_value(f'shared-{i % 5}', value)
                got = kvs.get_value(f'shared-{(i + 1) % 5}')
                assert got is None or isinstance(got, (dict, str))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,), name=f'kvs-{n}') for n in range(4)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert sorted(i.key for i in kvs.iterate_keys()) == [f'shared-{i}' for i in range(5)]


@pytest.mark.parametrize(
    ('key', 'content_type', 'size'),
    [('OUTPUT', JSON, 0), ('ü "quoted" \\ key\n', 'text/x; a="b"', 12345), ('\u2028', BINARY, 1)],
)
def test_sidecars_are_byte_identical_to_the_shared_json_writer(
    key: str, content_type: str, size: int
) -> None:
    """The fast sidecar writer writes exactly what dump_json writes for the same object."""
    expected = dump_json({'key': key, 'content_type': content_type, 'size': size})
    assert sidecar_bytes(key, content_type, size) == expected
