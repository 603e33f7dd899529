"""Helpers shared by the benchmark workers and the orchestrator.

Standard library only: this module is imported by the interpreter of the official SDK's venv as
well as by actorkit's. It is kept cheap to import (only `json`, `os` and `sys`, which every
interpreter has loaded anyway) because the cold-start job imports it too.

The verification functions read the storage folders directly, following
shared/reference/storage-layout.md, and raise `VerificationError` on the first difference.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

#: Jobs a plain run runs, in this order.
JOBS = ('cold', 'push1', 'batch', 'kvs', 'threads')

#: Jobs on big storages, run only when asked for (`--jobs dsread,keys`): each run first writes
#: its fixture (100,000 item files, or 50,000 records), which takes seconds and is not timed.
BIG_JOBS = ('dsread', 'keys')

#: Every job a worker understands.
ALL_JOBS = JOBS + BIG_JOBS

#: Default sizes (`--n`) of the full run and of `--quick`. The official SDK is the slowest of the
#: three by far (about 300 items/s one per call); these keep a full run under about 10 minutes.
DEFAULT_N = {
    'cold': 0,
    'push1': 2000,
    'batch': 10000,
    'kvs': 1000,
    'threads': 250,
    'dsread': 100_000,
    'keys': 50_000,
}
QUICK_N = {
    'cold': 0,
    'push1': 200,
    'batch': 2000,
    'kvs': 100,
    'threads': 100,
    'dsread': 10_000,
    'keys': 5_000,
}

#: The name of the named dataset and key-value store the big jobs read (named: never purged).
BIG_NAME = 'big'

#: How many times the big jobs repeat each timed read (the median is reported).
READ_REPEATS = 5

#: The page read at the end of the big dataset.
TAIL_PAGE = 10

BATCH_SIZE = 1000
THREADS = 8

#: The input the orchestrator puts into the default key-value store before a cold start.
COLD_INPUT = {'url': 'https://example.com', 'maxItems': 10, 'note': 'bench ünïcödé'}


class VerificationError(AssertionError):
    """The files on disk do not hold what the job wrote."""


class Unavailable(Exception):  # noqa: N818 - it is a status, not an error of the bench
    """The implementation under test does not offer what the job needs (yet)."""


# ----------------------------------------------------------------------------- workload


def make_item(i: int, thread: int | None = None) -> dict[str, Any]:
    """Return the small dataset item number `i` (optionally tagged with its thread)."""
    item: dict[str, Any] = {
        'i': i,
        'title': f'Item {i}: a small ünïcödé title',
        'url': f'https://example.com/items/{i}',
    }
    if thread is not None:
        item['t'] = thread
    return item


def record_key(i: int) -> str:
    """Return the key-value store key of record `i`."""
    return f'record-{i:05d}'


def make_record(i: int) -> dict[str, Any]:
    """Return the small JSON record stored under `record_key(i)`."""
    return {'i': i, 'name': f'record {i}', 'tags': ['a', 'b'], 'ok': True}


def cold_output(actor_input: Any) -> dict[str, Any]:
    """Return the OUTPUT record the cold-start job writes for `actor_input`."""
    return {'ok': True, 'input': actor_input}


# ----------------------------------------------------------------------------- worker CLI


def parse_worker_args(argv: list[str]) -> dict[str, Any]:
    """Parse `JOB --dir D --n N [--threads T] [--batch B]` without importing argparse.

    argparse is not imported on purpose: the cold-start job runs through this function and
    every import counts there.
    """
    jobs = ','.join(ALL_JOBS)
    usage = f'usage: jobs_X.py {{probe,{jobs}}} --dir DIR [--n N] [--threads T] [--batch B]'
    if not argv or argv[0] in ('-h', '--help'):
        print(usage)
        raise SystemExit(0 if argv else 2)
    job = argv[0]
    if job not in (*ALL_JOBS, 'probe'):
        raise SystemExit(f'unknown job {job!r}; {usage}')
    opts: dict[str, Any] = {'job': job, 'dir': None, 'n': None, 'threads': THREADS}
    opts['batch'] = BATCH_SIZE
    rest = argv[1:]
    while rest:
        name, *rest = rest
        if name not in ('--dir', '--n', '--threads', '--batch') or not rest:
            raise SystemExit(f'bad argument {name!r}; {usage}')
        value, *rest = rest
        opts[name[2:]] = value if name == '--dir' else int(value)
    if opts['dir'] is None and job != 'probe':
        raise SystemExit(f'--dir is required; {usage}')
    if opts['n'] is None:
        opts['n'] = DEFAULT_N.get(job, 0)
    if opts['dir'] is not None:
        opts['dir'] = os.path.abspath(opts['dir'])
        # Both SDKs read the storage folder from this variable; set it before they are imported.
        os.environ['APIFY_LOCAL_STORAGE_DIR'] = opts['dir']
        os.environ.pop('CRAWLEE_STORAGE_DIR', None)
    return opts


def emit(impl: str, job: str, status: str, **fields: Any) -> None:
    """Print the one JSON line the orchestrator reads from a worker's stdout."""
    line = {'impl': impl, 'job': job, 'status': status, **fields}
    sys.stdout.write(json.dumps(line) + '\n')
    sys.stdout.flush()


def rate(count: int, seconds: float) -> float:
    """Return `count / seconds`, guarding against a zero duration."""
    return count / seconds if seconds > 0 else float('inf')


def median(values: list[float]) -> float:
    """Return the median of `values` (no `statistics` import: workers stay light)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


# ----------------------------------------------------------------------------- big fixtures


def _fixture_metadata(name: str, **extra: Any) -> str:
    stamp = '2026-01-01 00:00:00+00:00'
    meta = {
        'id': 'B1gF1xtur3' + name.encode().hex()[:7].ljust(7, '0'),
        'name': name,
        'accessed_at': stamp,
        'created_at': stamp,
        'modified_at': stamp,
        **extra,
    }
    return json.dumps(meta, indent=2, ensure_ascii=False)


def populate_dataset(storage_dir: str, n: int, name: str = BIG_NAME) -> None:
    """Write the named dataset `name` with items `make_item(0..n-1)`, as the official SDK lays
    it out (plain writes: this is a fixture, written before anything is timed)."""
    folder = os.path.join(storage_dir, 'datasets', name)
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        with open(os.path.join(folder, f'{i + 1:09d}.json'), 'w', encoding='utf-8') as f:
            f.write(json.dumps(make_item(i), indent=2, ensure_ascii=False))
    with open(os.path.join(folder, '__metadata__.json'), 'w', encoding='utf-8') as f:
        f.write(_fixture_metadata(name, item_count=n))


def populate_records(storage_dir: str, n: int, name: str = BIG_NAME) -> None:
    """Write the named key-value store `name` with records `record_key(i): make_record(i)`,
    value file plus `.__metadata__.json` sidecar each, as the official SDK lays them out."""
    folder = os.path.join(storage_dir, 'key_value_stores', name)
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        key = record_key(i)
        body = json.dumps(make_record(i), indent=2, ensure_ascii=False).encode('utf-8')
        path = os.path.join(folder, key)  # record keys need no quoting
        with open(path, 'wb') as f:
            f.write(body)
        sidecar = {'key': key, 'content_type': 'application/json; charset=utf-8', 'size': len(body)}
        with open(path + '.__metadata__.json', 'w', encoding='utf-8') as f:
            f.write(json.dumps(sidecar, indent=2, ensure_ascii=False))
    with open(os.path.join(folder, '__metadata__.json'), 'w', encoding='utf-8') as f:
        f.write(_fixture_metadata(name))


def verify_page(items: list[Any], first: int, count: int) -> None:
    """Check that a page read from the big dataset holds items `first .. first + count - 1`."""
    expected = [make_item(i) for i in range(first, first + count)]
    if items != expected:
        raise VerificationError(
            f'page from item {first} holds {len(items)} items {items[:2]!r}..., expected '
            f'{count} items {expected[:2]!r}...'
        )


def verify_keys(keys: list[str], sizes: list[Any], n: int) -> None:
    """Check the keys (and sizes) a `keys` job listed: every record key once, in order."""
    expected = [record_key(i) for i in range(n)]
    if keys != expected:
        raise VerificationError(
            f'listed {len(keys)} keys {keys[:3]!r}..., expected {n} keys {expected[:3]!r}...'
        )
    for key, size in zip(keys, sizes, strict=True):
        body = json.dumps(make_record(int(key.split('-')[1])), indent=2, ensure_ascii=False)
        if size != len(body.encode('utf-8')):
            raise VerificationError(f'key {key!r} listed with size {size!r}, not {len(body)}')


# ----------------------------------------------------------------------------- verification


def _read_json(path: str) -> Any:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def dataset_items(storage_dir: str, name: str = 'default') -> list[Any]:
    """Return the items of a dataset folder in file-name order, checking the layout.

    Checks that the item files are exactly `000000001.json` .. `N.json` with no gap and that the
    `item_count` of `__metadata__.json` equals N.
    """
    folder = os.path.join(storage_dir, 'datasets', name)
    if not os.path.isdir(folder):
        raise VerificationError(f'dataset folder {folder} does not exist')
    names = sorted(
        entry for entry in os.listdir(folder) if entry.endswith('.json') and entry[:-5].isdigit()
    )
    expected = [f'{i:09d}.json' for i in range(1, len(names) + 1)]
    if names != expected:
        missing = sorted(set(expected) - set(names))[:5]
        extra = sorted(set(names) - set(expected))[:5]
        raise VerificationError(
            f'item files in {folder} are not 1..{len(names)} without gaps '
            f'(missing {missing}, unexpected {extra})'
        )
    leftovers = [e for e in os.listdir(folder) if e.endswith('.tmp')]
    if leftovers:
        raise VerificationError(f'temporary files left in {folder}: {leftovers[:5]}')
    meta = _read_json(os.path.join(folder, '__metadata__.json'))
    count = meta.get('item_count', meta.get('itemCount'))
    if count != len(names):
        raise VerificationError(
            f'{folder}/__metadata__.json says item_count={count}, '
            f'but there are {len(names)} item files'
        )
    return [_read_json(os.path.join(folder, entry)) for entry in names]


def count_item_files(storage_dir: str, name: str = 'default') -> int:
    """Return how many item files a dataset folder holds (a cheap check right after timing)."""
    folder = os.path.join(storage_dir, 'datasets', name)
    return sum(1 for e in os.listdir(folder) if e.endswith('.json') and e[:-5].isdigit())


def verify_items_in_order(storage_dir: str, expected: list[Any]) -> None:
    """Check that the default dataset holds exactly `expected`, each once, in order."""
    items = dataset_items(storage_dir)
    if len(items) != len(expected):
        raise VerificationError(f'dataset holds {len(items)} items, expected {len(expected)}')
    for position, (got, want) in enumerate(zip(items, expected, strict=True), start=1):
        if got != want:
            raise VerificationError(
                f'item file {position:09d}.json holds {got!r}, expected {want!r}'
            )


def verify_threaded_items(storage_dir: str, threads: int, per_thread: int) -> None:
    """Check that each thread's items are all there, once, and in that thread's order."""
    items = dataset_items(storage_dir)
    if len(items) != threads * per_thread:
        raise VerificationError(
            f'dataset holds {len(items)} items, expected {threads * per_thread}'
        )
    last = dict.fromkeys(range(threads), -1)
    for position, item in enumerate(items, start=1):
        t, i = item.get('t'), item.get('i')
        if t not in last or item != make_item(i, t):
            raise VerificationError(f'item file {position:09d}.json holds unexpected {item!r}')
        if i != last[t] + 1:
            raise VerificationError(
                f'item file {position:09d}.json holds item {i} of thread {t} after item {last[t]} '
                '(duplicate, lost or out of order)'
            )
        last[t] = i
    short = {t: i + 1 for t, i in last.items() if i + 1 != per_thread}
    if short:
        raise VerificationError(f'threads with a wrong number of items: {short}')


def kvs_record(storage_dir: str, key: str, store: str = 'default') -> Any:
    """Read one key-value store record through its sidecar, as the layout document says."""
    from urllib.parse import quote

    folder = os.path.join(storage_dir, 'key_value_stores', store)
    path = os.path.join(folder, quote(key, safe=''))
    try:
        sidecar = _read_json(path + '.__metadata__.json')
        with open(path, 'rb') as f:
            raw = f.read()
    except FileNotFoundError as exc:
        raise VerificationError(f'record {key!r} missing in {folder}: {exc}') from exc
    if sidecar.get('key') != key:
        raise VerificationError(f'sidecar of {path} names key {sidecar.get("key")!r}, not {key!r}')
    if sidecar.get('size') not in (None, len(raw)):
        raise VerificationError(
            f'sidecar of {path} says size {sidecar["size"]}, file has {len(raw)}'
        )
    content_type = sidecar.get('content_type', sidecar.get('contentType', ''))
    if 'application/json' in content_type:
        return json.loads(raw.decode('utf-8'))
    if content_type.startswith('text/'):
        return raw.decode('utf-8')
    return raw


def verify_records(storage_dir: str, n: int) -> None:
    """Check the `n` records written by the kvs job, reading the files directly."""
    for i in range(n):
        got = kvs_record(storage_dir, record_key(i))
        if got != make_record(i):
            raise VerificationError(
                f'record {record_key(i)} holds {got!r}, expected {make_record(i)!r}'
            )


def verify_read_back(values: list[Any], n: int) -> None:
    """Check the values a job's get_value calls returned."""
    for i, got in enumerate(values):
        if got != make_record(i):
            raise VerificationError(
                f'get_value({record_key(i)!r}) returned {got!r}, expected {make_record(i)!r}'
            )
    if len(values) != n:
        raise VerificationError(f'{len(values)} values read back, expected {n}')


def verify_cold(storage_dir: str) -> None:
    """Check the OUTPUT record a cold start wrote."""
    got = kvs_record(storage_dir, 'OUTPUT')
    if got != cold_output(COLD_INPUT):
        raise VerificationError(f'OUTPUT holds {got!r}, expected {cold_output(COLD_INPUT)!r}')


def write_cold_input(storage_dir: str, *, only_if_missing: bool = False) -> None:
    """Put INPUT.json (no sidecar, like a hand-written input) into the default store."""
    folder = os.path.join(storage_dir, 'key_value_stores', 'default')
    path = os.path.join(folder, 'INPUT.json')
    if only_if_missing and os.path.exists(path):
        return
    os.makedirs(folder, exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(COLD_INPUT, f, ensure_ascii=False)
