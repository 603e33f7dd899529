"""The local dataset, and how the local backend opens storages (by id, name, alias; purge)."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actorkit._errors import (
    InvalidStorageArgumentError,
    StorageError,
    StorageLimitError,
    StorageNotFoundError,
)
from actorkit.storages._dataset import Dataset
from actorkit.storages._key_value_store import KeyValueStore
from actorkit.storages._local import LocalStorageBackend
from actorkit.storages._serialization import dump_json
from tests._fs_calls import count_fs_calls
from tests._subprocess import TIMEOUT, script_env, write_script


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / 'storage'


@pytest.fixture
def backend(root: Path) -> Iterator[LocalStorageBackend]:
    made = LocalStorageBackend(root, purge_on_start=True)
    yield made
    made.close()


def open_dataset(backend: LocalStorageBackend, **how: Any) -> Dataset:
    return Dataset(
        backend.open_dataset(**how),
        open_key_value_store=lambda **how: KeyValueStore(
            backend.open_key_value_store(
                id=how.get('id'), name=how.get('name'), alias=how.get('alias')
            )
        ),
    )


@pytest.fixture
def dataset(backend: LocalStorageBackend) -> Dataset:
    return open_dataset(backend)


def folder(root: Path, name: str = 'default') -> Path:
    return root / 'datasets' / name


def item_files(root: Path, name: str = 'default') -> list[str]:
    return sorted(p.name for p in folder(root, name).iterdir() if p.name != '__metadata__.json')


def metadata(root: Path, name: str = 'default', kind: str = 'datasets') -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / kind / name / '__metadata__.json').read_text())
    return data


# ----------------------------------------------------------------------------- pushing


def test_push_accepts_a_dict_a_list_a_tuple_and_an_iterable(dataset: Dataset, root: Path) -> None:
    """Every accepted shape appends its items in order, one file each."""
    dataset.push_data({'n': 1})
    dataset.push_data([{'n': 2}, {'n': 3}])
    dataset.push_data(({'n': 4},))
    dataset.push_data({'n': n} for n in (5, 6))
    dataset.push_data([])
    assert [item['n'] for item in dataset.iterate_items()] == [1, 2, 3, 4, 5, 6]
    assert item_files(root) == [f'{n:09d}.json' for n in range(1, 7)]
    assert dataset.item_count == 6
    assert metadata(root)['item_count'] == 6


def test_item_files_have_the_official_bytes(dataset: Dataset, root: Path) -> None:
    """Each item file is json.dumps(item, indent=2, ensure_ascii=False)."""
    item = {'title': 'Zoë & ünïcödé', 'nested': {'a': [1, 2.5, None, True, {}]}, 'empty': []}
    dataset.push_data(item)
    body = (folder(root) / '000000001.json').read_bytes()
    assert body == json.dumps(item, indent=2, ensure_ascii=False).encode('utf-8')


def test_mapping_items_are_stored_as_dicts(dataset: Dataset) -> None:
    """A Mapping that is not a dict is accepted as an item."""
    from types import MappingProxyType

    dataset.push_data(MappingProxyType({'a': 1}))
    dataset.push_data([MappingProxyType({'b': 2})])
    assert list(dataset.iterate_items()) == [{'a': 1}, {'b': 2}]


@pytest.mark.parametrize(
    ('batch', 'fragment'),
    [
        ([{'ok': 1}, {'ok': 2}, 'text'], 'item 2 is a str'),
        ([{'ok': 1}, 5], 'item 1 is a int'),
        ([{'ok': 1}, {'bad': {1, 2}}], 'item 1 cannot be stored as JSON: a value of type set'),
        ([{'bad': object()}], 'item 0 cannot be stored as JSON: a value of type object'),
        ([{'ok': 1}, {'nan': math.nan}], 'item 1 cannot be stored as JSON'),
        ([{'ok': 1}, {(1, 2): 'tuple key'}], 'item 1 cannot be stored as JSON'),
    ],
)
def test_a_bad_item_refuses_the_whole_batch(
    dataset: Dataset, root: Path, batch: list[Any], fragment: str
) -> None:
    """One bad item raises an error naming it, and nothing of the batch is written."""
    dataset.push_data({'before': True})
    with pytest.raises(InvalidStorageArgumentError) as info:
        dataset.push_data(batch)
    assert fragment in str(info.value)
    assert 'nothing of this push was written' in str(info.value)
    assert item_files(root) == ['000000001.json']
    assert dataset.item_count == 1


@pytest.mark.parametrize('value', ['a str', b'bytes', 5, None])
def test_push_refuses_what_is_not_items(dataset: Dataset, value: Any) -> None:
    """A str, bytes or scalar is not a dict nor a list of dicts."""
    with pytest.raises(InvalidStorageArgumentError, match='dict or a list of dicts'):
        dataset.push_data(value)


def test_an_item_over_the_size_limit_is_refused(dataset: Dataset, root: Path) -> None:
    """An item bigger than 9,437,184 bytes raises StorageLimitError naming index and size."""
    big = {'blob': 'x' * 9_437_184}
    with pytest.raises(StorageLimitError) as info:
        dataset.push_data([{'small': 1}, big])
    message = str(info.value)
    assert 'item 1 is 9,437,195 bytes' in message
    assert '9,437,184' in message
    assert item_files(root) == []


# ----------------------------------------------------------------------------- reading


@pytest.fixture
def numbers(dataset: Dataset) -> Dataset:
    dataset.push_data([{'n': n, '#hidden': n, 'odd': n % 2 == 1} for n in range(10)])
    return dataset


def test_get_data_pages_with_offset_limit_and_desc(numbers: Dataset) -> None:
    """offset, limit and desc slice the items; total counts all of them."""
    page = numbers.get_data(offset=2, limit=3)
    assert [i['n'] for i in page.items] == [2, 3, 4]
    assert (page.offset, page.limit, page.count, page.total, page.desc) == (2, 3, 3, 10, False)
    page = numbers.get_data(offset=1, limit=2, desc=True)
    assert [i['n'] for i in page.items] == [8, 7]
    assert page.desc
    assert numbers.get_data(offset=20).items == []
    assert numbers.get_data(limit=0).items == []
    assert len(numbers.get_data().items) == 10
    assert [i['n'] for i in numbers.iterate_items(offset=7)] == [7, 8, 9]
    assert [i['n'] for i in numbers.iterate_items(limit=2, desc=True)] == [9, 8]


def test_field_filters_pick_order_and_drop(numbers: Dataset) -> None:
    """fields keeps and orders fields, omit drops them, clean and skip_hidden drop '#' fields."""
    page = numbers.get_data(limit=1, fields=['odd', 'n'])
    assert list(page.items[0].items()) == [('odd', False), ('n', 0)]
    assert numbers.get_data(limit=1, fields='n, odd').items == [{'n': 0, 'odd': False}]
    assert numbers.get_data(limit=1, omit=['odd']).items == [{'n': 0, '#hidden': 0}]
    assert numbers.get_data(limit=1, clean=True).items == [{'n': 0, 'odd': False}]
    assert numbers.get_data(limit=1, skip_hidden=True).items == [{'n': 0, 'odd': False}]
    assert list(numbers.iterate_items(limit=1, skip_hidden=True)) == [{'n': 0, 'odd': False}]


def test_empty_items_are_skipped_only_on_request(dataset: Dataset) -> None:
    """skip_empty and clean skip items that are empty after the field filters."""
    dataset.push_data([{'a': 1}, {}, {'#only': 'hidden'}, {'b': 2}])
    assert len(dataset.get_data().items) == 4
    assert dataset.get_data(skip_empty=True).items == [{'a': 1}, {'#only': 'hidden'}, {'b': 2}]
    page = dataset.get_data(clean=True)
    assert page.items == [{'a': 1}, {'b': 2}]
    assert (page.count, page.total) == (2, 4)
    assert list(dataset.iterate_items(clean=True)) == [{'a': 1}, {'b': 2}]
    assert dataset.get_data(fields=['a'], skip_empty=True).items == [{'a': 1}]


@pytest.mark.parametrize(
    'arguments',
    [{'offset': -1}, {'limit': -5}, {'offset': 1.5}, {'limit': True}, {'fields': 5}],
)
def test_bad_paging_arguments_raise_value_errors(numbers: Dataset, arguments: Any) -> None:
    """Negative or non-int offset/limit, and fields that are not names, raise ValueError."""
    with pytest.raises(ValueError, match=r'offset|limit|fields'):
        numbers.get_data(**arguments)
    with pytest.raises(ValueError, match=r'offset|limit|fields'):
        list(numbers.iterate_items(**arguments))


def test_corrupt_item_file_is_named(dataset: Dataset, root: Path) -> None:
    """An item file that is not JSON raises an error naming the file."""
    dataset.push_data({'a': 1})
    (folder(root) / '000000001.json').write_text('{"a": ')
    with pytest.raises(StorageError, match=r'000000001\.json .* not valid JSON'):
        dataset.get_data()


def test_files_that_are_not_items_are_ignored(dataset: Dataset, root: Path) -> None:
    """Temp files, the official SDK's *.tmp files and other names are not items."""
    dataset.push_data({'a': 1})
    for name in ('.actorkit-tmp-000000002.json.1.2', '000000002.json.x1.json.tmp', 'notes.json'):
        (folder(root) / name).write_text('{"junk": true}')
    assert dataset.get_data().items == [{'a': 1}]
    assert dataset.get_data().total == 1


def test_a_page_opens_only_its_own_item_files(
    dataset: Dataset, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a page lists no folder and opens the page's item files only, at any size."""
    count = 1000
    dataset.push_data([{'n': n} for n in range(count)])
    with count_fs_calls(monkeypatch, folder(root)) as calls:
        page = dataset.get_data(offset=count - 10, limit=10)
        assert [item['n'] for item in page.items] == list(range(count - 10, count))
        assert page.total == count
        assert calls.opened == [f'{n:09d}.json' for n in range(count - 9, count + 1)]
        calls.reset()
        assert dataset.get_data(limit=1).items == [{'n': 0}]
        assert dataset.get_data(offset=5, limit=2, desc=True).items == [
            {'n': count - 6},
            {'n': count - 7},
        ]
        assert [item['n'] for item in dataset.iterate_items(offset=100, limit=3)] == [100, 101, 102]
        assert calls.opened == [
            '000000001.json',
            f'{count - 5:09d}.json',
            f'{count - 6:09d}.json',
            '000000101.json',
            '000000102.json',
            '000000103.json',
        ]
        assert calls.listings == 0
        assert len(calls.stats) <= 3 * 4  # the metadata file and item count + 1, per read


def test_a_page_of_another_writers_items_is_read_by_number(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader checks another process's count cheaply and still lists nothing."""
    writer_backend = LocalStorageBackend(root, purge_on_start=False)
    reader_backend = LocalStorageBackend(root, purge_on_start=False)
    writer = open_dataset(writer_backend)
    reader = open_dataset(reader_backend)
    writer.push_data([{'n': n} for n in range(50)])
    with count_fs_calls(monkeypatch, folder(root)) as calls:
        page = reader.get_data(offset=48)
        assert [item['n'] for item in page.items] == [48, 49]
        assert page.total == 50
        writer.push_data({'n': 50})
        assert reader.get_data(offset=50).items == [{'n': 50}]
        assert calls.listings == 0
    writer_backend.close()
    reader_backend.close()


def dead_pid() -> int:
    """Return the pid of a process that has ended."""
    process = subprocess.Popen([sys.executable, '-c', 'pass'])
    process.wait()
    return process.pid


def test_opening_to_read_lists_nothing_and_the_first_push_sweeps_temp_files(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader's open lists no folder; a crashed writer's temp file goes at the next push."""
    writer = LocalStorageBackend(root, purge_on_start=False)
    open_dataset(writer, name='big').push_data([{'n': n} for n in range(20)])
    writer.close()
    leftover = folder(root, 'big') / f'.actorkit-tmp-__metadata__.json.{dead_pid()}.0'
    leftover.write_text('{"item_count": 99}')
    reader = LocalStorageBackend(root, purge_on_start=False)
    with count_fs_calls(monkeypatch, folder(root, 'big')) as calls:
        dataset = open_dataset(reader, name='big')
        assert dataset.get_data(offset=19).items == [{'n': 19}]
        assert calls.listings == 0
    assert leftover.exists()
    dataset.push_data({'n': 20})
    assert not leftover.exists()
    assert dataset.item_count == 21
    reader.close()


def test_items_beyond_the_count_are_found_without_a_listing(
    dataset: Dataset, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items past the metadata's count (a push in flight elsewhere) are read by number too."""
    dataset.push_data([{'n': n} for n in range(1, 6)])
    for n in range(6, 40):  # as another process's push writes them before the metadata
        (folder(root) / f'{n:09d}.json').write_text(json.dumps({'n': n}))
    with count_fs_calls(monkeypatch, folder(root)) as calls:
        page = dataset.get_data(offset=30)
        assert [item['n'] for item in page.items] == list(range(31, 40))
        assert page.total == 39
        assert dataset.get_data(limit=1, desc=True).items == [{'n': 39}]
        assert calls.listings == 0
        assert len(calls.stats) <= 2 * 20  # about 2 log2(34) probes per read


def test_a_stale_count_or_a_hand_deleted_item_falls_back_to_a_listing(
    dataset: Dataset, root: Path
) -> None:
    """Pages stay right when the files disagree with the count: the folder's order wins."""
    dataset.push_data([{'n': n} for n in range(1, 6)])
    (folder(root) / '000000006.json').write_text('{"n": 6}')  # written behind the count
    assert [item['n'] for item in dataset.iterate_items()] == [1, 2, 3, 4, 5, 6]
    assert dataset.get_data(limit=1, desc=True).items == [{'n': 6}]
    (folder(root) / '000000006.json').unlink()
    (folder(root) / '000000003.json').unlink()  # a gap
    page = dataset.get_data()
    assert [item['n'] for item in page.items] == [1, 2, 4, 5]
    assert page.total == 4
    assert [item['n'] for item in dataset.get_data(offset=2, limit=2).items] == [4, 5]
    assert [item['n'] for item in dataset.iterate_items(offset=1)] == [2, 4, 5]
    assert [item['n'] for item in dataset.iterate_items(desc=True)] == [5, 4, 2, 1]


def test_iterating_past_a_hand_deleted_item_goes_on_in_file_order(
    dataset: Dataset, root: Path
) -> None:
    """An item file vanishing under a lazy iteration is skipped, and the rest still come."""
    dataset.push_data([{'n': n} for n in range(1, 8)])
    items = dataset.iterate_items(limit=5)
    assert next(items) == {'n': 1}
    (folder(root) / '000000003.json').unlink()
    assert [item['n'] for item in items] == [2, 4, 5, 6]
    items = dataset.iterate_items(desc=True)
    assert next(items) == {'n': 7}
    (folder(root) / '000000005.json').unlink()
    assert [item['n'] for item in items] == [6, 4, 2, 1]


def test_metadata_is_byte_identical_to_the_shared_json_writer(
    backend: LocalStorageBackend, root: Path
) -> None:
    """The fast metadata writer of pushes writes exactly what dump_json writes."""
    dataset = open_dataset(backend, alias='ünï "alias"')
    dataset.push_data({'a': 1})
    raw = (folder(root, 'ünï "alias"') / '__metadata__.json').read_bytes()
    assert raw == dump_json(json.loads(raw))


# ----------------------------------------------------------------------------- export


def test_export_json_to_the_default_store(backend: LocalStorageBackend, dataset: Dataset) -> None:
    """export_to writes every item as an indented JSON array into the default store."""
    items = [{'a': 1, 'b': 'ü'}, {'a': 2, 'c': [1]}]
    dataset.push_data(items)
    dataset.export_to('OUT')
    kvs = KeyValueStore(backend.open_key_value_store())
    assert kvs.get_value('OUT') == items
    body = (backend.root / 'key_value_stores' / 'default' / 'OUT').read_bytes()
    assert body == json.dumps(items, indent=2, ensure_ascii=False).encode('utf-8')


def test_export_csv_has_every_field_in_first_seen_order(
    backend: LocalStorageBackend, dataset: Dataset
) -> None:
    """The CSV header is the union of fields; nested values are JSON, None is empty."""
    dataset.push_data(
        [
            {'a': 1, 'b': 'x,y'},
            {'b': 'z', 'c': {'deep': [1, 2]}, 'd': None, 'e': True},
        ]
    )
    store = KeyValueStore(backend.open_key_value_store(name='exports'))
    dataset.export_to('data.csv', content_type='csv', to_key_value_store=store)
    text = store.get_value('data.csv')
    assert isinstance(text, str)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ['a', 'b', 'c', 'd', 'e'],
        ['1', 'x,y', '', '', ''],
        ['', 'z', '{"deep":[1,2]}', '', 'true'],
    ]
    assert text.endswith('\n')
    assert '\r' not in text
    files = backend.root / 'key_value_stores' / 'exports'
    meta = json.loads((files / 'data.csv.__metadata__.json').read_text())
    assert meta['content_type'] == 'text/csv; charset=utf-8'


def test_export_jsonl_writes_one_object_per_line(
    backend: LocalStorageBackend, dataset: Dataset
) -> None:
    """JSON Lines export: one compact object per line."""
    dataset.push_data([{'a': 1}, {'b': 'ü'}])
    dataset.export_to('lines', content_type='jsonl')
    kvs = KeyValueStore(backend.open_key_value_store())
    assert kvs.get_value('lines') == b'{"a":1}\n{"b":"\xc3\xbc"}\n'


def test_export_refuses_unknown_formats(dataset: Dataset) -> None:
    """An unknown export content type raises before reading anything."""
    with pytest.raises(InvalidStorageArgumentError, match='unknown export content_type'):
        dataset.export_to('X', content_type='xml')


# ----------------------------------------------------------------------------- numbering


def test_stale_metadata_never_leads_to_an_overwrite(root: Path) -> None:
    """A count left low by a crash is fixed at open; new items go after the last file."""
    first = LocalStorageBackend(root, purge_on_start=False)
    open_dataset(first).push_data([{'n': 1}, {'n': 2}, {'n': 3}])
    first.close()
    meta = metadata(root)
    meta['item_count'] = 1
    (folder(root) / '__metadata__.json').write_text(json.dumps(meta, indent=2))
    second = LocalStorageBackend(root, purge_on_start=False)
    dataset = open_dataset(second)
    assert dataset.item_count == 3
    dataset.push_data({'n': 4})
    assert [i['n'] for i in dataset.iterate_items()] == [1, 2, 3, 4]
    assert metadata(root)['item_count'] == 4
    second.close()


def test_cli_items_without_metadata_are_kept(root: Path) -> None:
    """Tab-indented CLI items without metadata are counted and never overwritten."""
    target = folder(root)
    target.mkdir(parents=True)
    for n in (1, 2, 3):
        (target / f'{n:09d}.json').write_text(json.dumps({'cli': n}, indent='\t'))
    backend = LocalStorageBackend(root, purge_on_start=False)
    dataset = open_dataset(backend)
    assert dataset.item_count == 3
    dataset.push_data({'cli': 4})
    assert [i['cli'] for i in dataset.iterate_items()] == [1, 2, 3, 4]
    assert metadata(root)['item_count'] == 4
    backend.close()


def test_items_written_behind_the_clients_back_are_not_overwritten(
    dataset: Dataset, root: Path
) -> None:
    """Items another writer added (metadata saying 1, or untouched) push numbering forward."""
    dataset.push_data({'n': 1})
    (folder(root) / '000000002.json').write_text('{"n": 2}')
    (folder(root) / '000000003.json').write_text('{"n": 3}')
    dataset.push_data({'n': 4})  # metadata untouched: the exclusive create finds 2 taken
    assert [i['n'] for i in dataset.iterate_items()] == [1, 2, 3, 4]
    assert metadata(root)['item_count'] == 4

    (folder(root) / '000000005.json').write_text('{"n": 5}')
    meta = metadata(root)
    meta['item_count'] = 1  # another process wrote a stale count
    (folder(root) / '__metadata__.json').write_text(json.dumps(meta, indent=2))
    dataset.push_data([{'n': 6}, {'n': 7}])
    assert [i['n'] for i in dataset.iterate_items()] == [1, 2, 3, 4, 5, 6, 7]
    assert metadata(root)['item_count'] == 7
    assert dataset.item_count == 7


def test_numbering_continues_after_a_gap(dataset: Dataset, root: Path) -> None:
    """With item 2 deleted by hand, new items still go after the highest number."""
    dataset.push_data([{'n': 1}, {'n': 2}, {'n': 3}])
    (folder(root) / '000000002.json').unlink()
    meta = metadata(root)
    meta['item_count'] = 2
    (folder(root) / '__metadata__.json').write_text(json.dumps(meta, indent=2))
    dataset.push_data({'n': 4})
    assert [i['n'] for i in dataset.iterate_items()] == [1, 3, 4]
    assert item_files(root)[-1] == '000000004.json'
    assert metadata(root)['item_count'] == 3


def test_threads_push_every_item_exactly_once(dataset: Dataset, root: Path) -> None:
    """8 threads x 500 pushes: every item once, in each thread's order, count exact."""
    start = threading.Event()
    errors: list[BaseException] = []

    def pusher(t: int) -> None:
        start.wait()
        try:
            for i in range(500):
                dataset.push_data({'t': t, 'i': i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pusher, args=(t,), name=f'pusher-{t}') for t in range(8)]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not errors
    items = list(dataset.iterate_items())
    assert len(items) == 4000
    assert {(item['t'], item['i']) for item in items} == {
        (t, i) for t in range(8) for i in range(500)
    }
    for t in range(8):
        assert [item['i'] for item in items if item['t'] == t] == list(range(500))
    assert metadata(root)['item_count'] == 4000
    assert item_files(root)[-1] == '000004000.json'


_PUSHER = """
import sys, threading
from pathlib import Path
from actorkit.storages._dataset import Dataset
from actorkit.storages._local import LocalStorageBackend

root, proc, per_thread = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
backend = LocalStorageBackend(root, purge_on_start=False)
dataset = Dataset(backend.open_dataset(name='shared'))
print('ready', flush=True)
sys.stdin.readline()
errors = []

def push(t):
    try:
        for i in range(per_thread):
            item = {'p': proc, 't': t, 'i': i, 'b': 0}
            if i % 10 == 9:
                dataset.push_data([item, dict(item, b=1)])
            else:
                dataset.push_data(item)
    except BaseException as exc:
        errors.append(exc)
        raise

threads = [threading.Thread(target=push, args=(t,)) for t in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
backend.close()
sys.exit(1 if errors else 0)
"""


def test_processes_and_threads_push_every_item_exactly_once(tmp_path: Path, root: Path) -> None:
    """4 processes x 4 threads pushing to one dataset: every item once, item_count exact."""
    per_thread = 120
    script = write_script(tmp_path, _PUSHER, name='pusher.py')
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), str(p), str(per_thread)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=script_env(tmp_path),
        )
        for p in range(4)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == 'ready'
        for process in processes:
            assert process.stdin is not None
            process.stdin.write('go\n')
            process.stdin.flush()
        for process in processes:
            _, stderr = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, stderr
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    backend = LocalStorageBackend(root, purge_on_start=False)
    items = list(Dataset(backend.open_dataset(name='shared')).iterate_items())
    backend.close()
    expected = {
        (p, t, i, b)
        for p in range(4)
        for t in range(4)
        for i in range(per_thread)
        for b in ((0, 1) if i % 10 == 9 else (0,))
    }
    got = [(item['p'], item['t'], item['i'], item['b']) for item in items]
    assert len(got) == len(expected)
    assert set(got) == expected
    for p in range(4):
        for t in range(4):
            mine = [(i, b) for (pp, tt, i, b) in got if (pp, tt) == (p, t)]
            assert mine == sorted(mine)
    assert metadata(root, 'shared')['item_count'] == len(expected)
    assert item_files(root, 'shared')[-1] == f'{len(expected):09d}.json'


# ----------------------------------------------------------------------------- opening


def test_default_and_alias_storages_are_unnamed_folders(backend: LocalStorageBackend) -> None:
    """No argument opens folder default; alias A opens folder A; both have name null."""
    default = open_dataset(backend)
    aliased = open_dataset(backend, alias='scratch')
    assert default.name is None
    assert aliased.name is None
    assert metadata(backend.root)['name'] is None
    assert metadata(backend.root, 'scratch')['name'] is None
    assert open_dataset(backend, alias='default').client is default.client
    assert backend.open_dataset(alias='__default__') is default.client
    assert len(default.id) == 17
    assert default.id.isalnum()
    assert default.id != aliased.id


def test_named_storage_has_its_name_in_metadata(backend: LocalStorageBackend) -> None:
    """name=N opens folder N whose metadata names it."""
    named = open_dataset(backend, name='my-results')
    assert named.name == 'my-results'
    assert metadata(backend.root, 'my-results')['name'] == 'my-results'


def test_same_storage_opened_twice_is_the_same_client(backend: LocalStorageBackend) -> None:
    """Opening again, by any of the ways that reach it, gives the same client object."""
    first = backend.open_dataset(name='same')
    assert backend.open_dataset(name='same') is first
    assert backend.open_dataset(id=first.id) is first
    kvs = backend.open_key_value_store()
    assert backend.open_key_value_store(id=kvs.id) is kvs
    assert backend.open_key_value_store(alias='default') is kvs


def test_open_by_id_scans_the_folders(root: Path) -> None:
    """A storage created by an earlier run is found by its id; an unknown id is an error."""
    first = LocalStorageBackend(root, purge_on_start=False)
    named_id = first.open_dataset(name='older').id
    alias_id = first.open_key_value_store(alias='side').id
    first.close()
    second = LocalStorageBackend(root, purge_on_start=False)
    found = open_dataset(second, id=named_id)
    assert found.name == 'older'
    assert KeyValueStore(second.open_key_value_store(id=alias_id)).name is None
    with pytest.raises(StorageNotFoundError, match="no dataset with id 'nope'"):
        second.open_dataset(id='nope')
    second.close()


def test_configured_default_id_opens_the_default_storage(root: Path) -> None:
    """A new default storage takes the configured id, and that id opens it."""
    backend = LocalStorageBackend(
        root, purge_on_start=True, default_ids={'datasets': 'DefaultDatasetId1'}
    )
    by_id = backend.open_dataset(id='DefaultDatasetId1')
    assert by_id is backend.open_dataset()
    assert by_id.id == 'DefaultDatasetId1'
    assert metadata(root)['id'] == 'DefaultDatasetId1'
    backend.close()


@pytest.mark.parametrize(
    ('how', 'fragment'),
    [
        ({'name': 'a', 'alias': 'b'}, 'not by name and alias'),
        ({'id': 'x', 'name': 'a'}, 'not by id and name'),
        ({'name': 'under_score'}, 'invalid dataset name'),
        ({'name': '-edge'}, 'invalid dataset name'),
        ({'name': 'x' * 64}, 'invalid dataset name'),
        ({'name': 'a/b'}, 'invalid dataset name'),
        ({'name': 'default'}, 'reserved'),
        ({'alias': '../up'}, 'invalid dataset alias'),
        ({'alias': '.hidden'}, 'invalid dataset alias'),
        ({'alias': ''}, 'invalid dataset alias'),
        ({'id': ''}, 'non-empty'),
    ],
)
def test_bad_open_arguments_are_refused(
    backend: LocalStorageBackend, how: dict[str, str], fragment: str
) -> None:
    """Several of id/name/alias, or a name/alias that is no safe folder, raise a clear error."""
    with pytest.raises(InvalidStorageArgumentError, match=fragment):
        backend.open_dataset(**how)


def test_name_and_alias_cannot_share_a_folder(root: Path) -> None:
    """A named storage is not opened as an alias storage, nor the other way round."""
    backend = LocalStorageBackend(root, purge_on_start=True)
    backend.open_dataset(name='taken')
    with pytest.raises(InvalidStorageArgumentError, match='holds the named dataset'):
        backend.open_dataset(alias='taken')
    backend.open_dataset(alias='scratch')
    with pytest.raises(InvalidStorageArgumentError, match='holds an unnamed dataset'):
        backend.open_dataset(name='scratch')
    backend.close()
    again = LocalStorageBackend(root, purge_on_start=True)
    with pytest.raises(InvalidStorageArgumentError, match='holds the named dataset'):
        again.open_dataset(alias='taken')
    again.close()


def test_purge_applies_once_and_only_to_unnamed_datasets(root: Path) -> None:
    """Default and alias datasets are emptied at first open; named ones keep their items."""
    first = LocalStorageBackend(root, purge_on_start=False)
    for how in ({}, {'alias': 'side'}, {'name': 'kept'}):
        open_dataset(first, **how).push_data([{'a': 1}, {'a': 2}])
    first.close()
    second = LocalStorageBackend(root, purge_on_start=True)
    default = open_dataset(second)
    assert default.item_count == 0
    assert item_files(root) == []
    assert metadata(root)['item_count'] == 0
    assert open_dataset(second, alias='side').item_count == 0
    assert open_dataset(second, name='kept').item_count == 2
    default.push_data({'new': 1})
    assert open_dataset(second).item_count == 1  # opened again: not purged again
    second.close()
    third = LocalStorageBackend(root, purge_on_start=False)
    assert open_dataset(third).item_count == 1
    third.close()


def test_cli_metadata_in_camel_case_is_read(root: Path) -> None:
    """The CLI's camelCase metadata with name "default" is the unnamed default dataset."""
    target = folder(root)
    target.mkdir(parents=True)
    cli_meta = {
        'id': 'CliDatasetId00001',
        'name': 'default',
        'itemCount': 1,
        'accessedAt': '2026-01-02T03:04:05.678Z',
        'createdAt': '2026-01-02T03:04:05.678Z',
        'modifiedAt': '2026-01-02T03:04:05.678Z',
    }
    (target / '__metadata__.json').write_text(json.dumps(cli_meta, indent='\t'))
    (target / '000000001.json').write_text('{\n\t"x": 1\n}')
    backend = LocalStorageBackend(root, purge_on_start=False)
    dataset = open_dataset(backend, id='CliDatasetId00001')
    assert dataset.client is backend.open_dataset()
    assert dataset.name is None
    meta = dataset.get_metadata()
    assert meta.item_count == 1
    assert meta.created_at.isoformat() == '2026-01-02T03:04:05.678000+00:00'
    assert list(dataset.iterate_items()) == [{'x': 1}]
    backend.close()


def test_drop_removes_the_dataset(backend: LocalStorageBackend, root: Path) -> None:
    """drop deletes the folder; the object is unusable; opening again makes a new dataset."""
    dataset = open_dataset(backend, name='gone')
    dataset.push_data({'a': 1})
    dataset.drop()
    assert not folder(root, 'gone').exists()
    with pytest.raises(StorageError, match='dropped'):
        dataset.push_data({'a': 2})
    again = open_dataset(backend, name='gone')
    assert again.id != dataset.id
    assert again.item_count == 0


def test_closed_backend_refuses_to_open(root: Path) -> None:
    """After close(), opening a storage raises."""
    backend = LocalStorageBackend(root, purge_on_start=False)
    backend.open_dataset()
    backend.close()
    backend.close()
    with pytest.raises(StorageError, match='closed'):
        backend.open_dataset()


_OPENER = """
import sys
from pathlib import Path
from actorkit.storages._local import LocalStorageBackend

root, names = Path(sys.argv[1]), sys.argv[2].split(',')
backend = LocalStorageBackend(root, purge_on_start=False)
print('ready', flush=True)
sys.stdin.readline()
for name in names:
    dataset_id = backend.open_dataset(name=name).id
    print(dataset_id, backend.open_key_value_store(name=name).id, flush=True)
backend.close()
"""


def test_two_processes_opening_a_new_storage_agree_on_its_id(tmp_path: Path, root: Path) -> None:
    """Two processes creating the same named storages at once see one id for each."""
    names = [f'race-{n}' for n in range(20)]
    script = write_script(tmp_path, _OPENER, name='opener.py')
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), ','.join(names)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=script_env(tmp_path),
        )
        for _ in range(2)
    ]
    outputs = []
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == 'ready'
        for process in processes:
            assert process.stdin is not None
            process.stdin.write('go\n')
            process.stdin.flush()
        for process in processes:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, stderr
            outputs.append(stdout.split())
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert outputs[0] == outputs[1]
    for n, name in enumerate(names):
        assert metadata(root, name)['id'] == outputs[0][2 * n]
        assert metadata(root, name, kind='key_value_stores')['id'] == outputs[0][2 * n + 1]
