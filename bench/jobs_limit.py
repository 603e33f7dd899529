"""The plain-Python limit: the same files as the SDKs write, with nothing else around them.

Every file is written atomically (temp file in the same folder + `os.replace`) as JSON with
`indent=2, ensure_ascii=False`, exactly like the official SDK. What is left out is everything an
SDK adds on top: no metadata rewrite on reads, no locks across processes, no event loop, no
models. A dataset push still rewrites `__metadata__.json` once per call, because `item_count`
must match the item files after every call.

For the big read jobs (`dsread`, `keys`) the limit reads the files the leanest correct way: a
dataset page opens the page's item files by number (the count comes from `__metadata__.json`),
and listing keys lists the folder once, sorts the keys and takes each size from its value file.

Usage: python jobs_limit.py {cold,push1,batch,kvs,threads,dsread,keys} --dir D [--n N]
Prints one JSON line.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _shared

IMPL = 'limit'


def _now() -> str:
    from datetime import datetime, timezone

    return str(datetime.now(timezone.utc))


def _random_id() -> str:
    import random
    import string

    return ''.join(random.choices(string.ascii_letters + string.digits, k=17))


_counter = itertools.count()


def _atomic_write(path: str, data: str | bytes) -> None:
    """Write through a temp file in the same folder, then `os.replace` it into place.

    The leanest form of it: a unique temp name from the pid and a counter (no `tempfile`
    name generation), one `os.write`, no fsync (neither SDK syncs).
    """
    tmp = f'{path}.{os.getpid()}-{next(_counter)}.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            os.write(fd, data.encode('utf-8') if isinstance(data, str) else data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


class _Store:
    """One storage folder with its `__metadata__.json`; purged like an unnamed storage."""

    def __init__(self, root: str, kind: str, name: str = 'default') -> None:
        self.folder = os.path.join(root, kind, name)
        self.meta_path = os.path.join(self.folder, '__metadata__.json')
        os.makedirs(self.folder, exist_ok=True)
        now = _now()
        self.meta: dict[str, object] = {
            'id': _random_id(),
            'name': None,
            'accessed_at': now,
            'created_at': now,
            'modified_at': now,
        }

    def save_meta(self) -> None:
        self.meta['accessed_at'] = self.meta['modified_at'] = _now()
        _atomic_write(self.meta_path, _dumps(self.meta))


class Dataset(_Store):
    def __init__(self, root: str) -> None:
        super().__init__(root, 'datasets')
        for entry in os.listdir(self.folder):  # purge on start
            if entry != '__metadata__.json':
                os.unlink(os.path.join(self.folder, entry))
        self.meta['item_count'] = 0
        self.count = 0
        self.save_meta()

    def push(self, items: list[dict[str, object]]) -> None:
        for item in items:
            self.count += 1
            _atomic_write(os.path.join(self.folder, f'{self.count:09d}.json'), _dumps(item))
        self.meta['item_count'] = self.count
        self.save_meta()


class KeyValueStore(_Store):
    def __init__(self, root: str) -> None:
        super().__init__(root, 'key_value_stores')
        keep = {'__metadata__.json', 'INPUT', 'INPUT.json', 'INPUT.json.__metadata__.json'}
        keep.add('INPUT.__metadata__.json')
        for entry in os.listdir(self.folder):  # purge on start
            if entry not in keep:
                os.unlink(os.path.join(self.folder, entry))
        self.save_meta()

    def set_value(self, key: str, value: object) -> None:
        from urllib.parse import quote

        path = os.path.join(self.folder, quote(key, safe=''))
        data = _dumps(value).encode('utf-8')
        _atomic_write(path, data)
        sidecar = {'key': key, 'content_type': 'application/json; charset=utf-8', 'size': len(data)}
        _atomic_write(path + '.__metadata__.json', _dumps(sidecar))

    def get_value(self, key: str) -> object:
        from urllib.parse import quote

        path = os.path.join(self.folder, quote(key, safe=''))
        with open(path + '.__metadata__.json', encoding='utf-8') as f:
            content_type = json.load(f)['content_type']
        with open(path, 'rb') as f:
            raw = f.read()
        if 'application/json' in content_type:
            return json.loads(raw)
        return raw.decode('utf-8') if content_type.startswith('text/') else raw

    def get_input(self) -> object:
        path = os.path.join(self.folder, 'INPUT.json')
        if not os.path.exists(path):
            return None
        with open(path, 'rb') as f:
            raw = f.read()
        sidecar = {'key': 'INPUT', 'content_type': 'application/json; charset=utf-8'}
        sidecar['size'] = len(raw)
        _atomic_write(path + '.__metadata__.json', _dumps(sidecar))
        return json.loads(raw)


# ----------------------------------------------------------------------------- jobs


def job_cold(opts: dict[str, object]) -> dict[str, object]:
    root = str(opts['dir'])
    kvs = KeyValueStore(root)
    kvs.set_value('OUTPUT', _shared.cold_output(kvs.get_input()))
    return {}


def job_push1(opts: dict[str, object]) -> dict[str, object]:
    root, n = str(opts['dir']), int(opts['n'])  # type: ignore[call-overload]
    ds = Dataset(root)
    items = [_shared.make_item(i) for i in range(n)]
    start = time.perf_counter()
    for item in items:
        ds.push([item])
    seconds = time.perf_counter() - start
    _shared.verify_items_in_order(root, items)
    return {'n': n, 'seconds': seconds, 'items_per_s': _shared.rate(n, seconds)}


def job_batch(opts: dict[str, object]) -> dict[str, object]:
    root, n, size = str(opts['dir']), int(opts['n']), int(opts['batch'])  # type: ignore[call-overload]
    ds = Dataset(root)
    items = [_shared.make_item(i) for i in range(n)]
    batches = [items[k : k + size] for k in range(0, n, size)]
    start = time.perf_counter()
    for batch in batches:
        ds.push(batch)
    seconds = time.perf_counter() - start
    _shared.verify_items_in_order(root, items)
    return {'n': n, 'seconds': seconds, 'items_per_s': _shared.rate(n, seconds)}


def job_kvs(opts: dict[str, object]) -> dict[str, object]:
    root, n = str(opts['dir']), int(opts['n'])  # type: ignore[call-overload]
    kvs = KeyValueStore(root)
    keys = [_shared.record_key(i) for i in range(n)]
    records = [_shared.make_record(i) for i in range(n)]
    start = time.perf_counter()
    for key, record in zip(keys, records, strict=True):
        kvs.set_value(key, record)
    set_seconds = time.perf_counter() - start
    start = time.perf_counter()
    values = [kvs.get_value(key) for key in keys]
    get_seconds = time.perf_counter() - start
    _shared.verify_read_back(values, n)
    _shared.verify_records(root, n)
    return {
        'n': n,
        'set_seconds': set_seconds,
        'get_seconds': get_seconds,
        'set_ops_per_s': _shared.rate(n, set_seconds),
        'get_ops_per_s': _shared.rate(n, get_seconds),
    }


def job_threads(opts: dict[str, object]) -> dict[str, object]:
    import threading

    root, n, threads = str(opts['dir']), int(opts['n']), int(opts['threads'])  # type: ignore[call-overload]
    ds = Dataset(root)
    lock = threading.Lock()
    go = threading.Event()

    def pusher(t: int) -> None:
        items = [_shared.make_item(i, t) for i in range(n)]
        go.wait()
        for item in items:
            with lock:
                ds.push([item])

    workers = [
        threading.Thread(target=pusher, args=(t,), name=f'bench-pusher-{t}') for t in range(threads)
    ]
    for w in workers:
        w.start()
    start = time.perf_counter()
    go.set()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - start
    _shared.verify_threaded_items(root, threads, n)
    total = threads * n
    return {
        'n': total,
        'threads': threads,
        'seconds': seconds,
        'items_per_s': _shared.rate(total, seconds),
    }


def _timed(call: Any) -> tuple[float, Any]:
    """Run `call` READ_REPEATS times; return the median seconds and the last result."""
    times, result = [], None
    for _ in range(_shared.READ_REPEATS):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return _shared.median(times), result


def _read_page(folder: str, offset: int, limit: int) -> list[Any]:
    with open(os.path.join(folder, '__metadata__.json'), encoding='utf-8') as f:
        count = json.load(f)['item_count']
    items = []
    for number in range(offset + 1, min(offset + limit, count) + 1):
        with open(os.path.join(folder, f'{number:09d}.json'), encoding='utf-8') as f:
            items.append(json.load(f))
    return items


def job_dsread(opts: dict[str, Any]) -> dict[str, Any]:
    n, root = int(opts['n']), str(opts['dir'])
    _shared.populate_dataset(root, n)
    folder = os.path.join(root, 'datasets', _shared.BIG_NAME)
    start = time.perf_counter()
    with open(os.path.join(folder, '__metadata__.json'), encoding='utf-8') as f:
        json.load(f)
    open_seconds = time.perf_counter() - start
    tail = n - _shared.TAIL_PAGE
    tail_seconds, tail_items = _timed(lambda: _read_page(folder, tail, _shared.TAIL_PAGE))
    head_seconds, head_items = _timed(lambda: _read_page(folder, 0, 1))
    _shared.verify_page(tail_items, tail, _shared.TAIL_PAGE)
    _shared.verify_page(head_items, 0, 1)
    return {
        'n': n,
        'open_ms': open_seconds * 1000,
        'tail_ms': tail_seconds * 1000,
        'head_ms': head_seconds * 1000,
    }


def job_keys(opts: dict[str, Any]) -> dict[str, Any]:
    from urllib.parse import unquote

    n, root = int(opts['n']), str(opts['dir'])
    _shared.populate_records(root, n)
    folder = os.path.join(root, 'key_value_stores', _shared.BIG_NAME)
    start = time.perf_counter()
    with open(os.path.join(folder, '__metadata__.json'), encoding='utf-8') as f:
        json.load(f)
    open_seconds = time.perf_counter() - start
    start = time.perf_counter()
    suffix = '.__metadata__.json'
    names = sorted(
        name[: -len(suffix)]
        for name in os.listdir(folder)
        if name.endswith(suffix) and name != '__metadata__.json'
    )
    infos = [(unquote(name), os.stat(os.path.join(folder, name)).st_size) for name in names]
    seconds = time.perf_counter() - start
    _shared.verify_keys([key for key, _ in infos], [size for _, size in infos], n)
    return {
        'n': n,
        'open_ms': open_seconds * 1000,
        'seconds': seconds,
        'keys_per_s': _shared.rate(n, seconds),
    }


JOBS = {
    'cold': job_cold,
    'push1': job_push1,
    'batch': job_batch,
    'kvs': job_kvs,
    'threads': job_threads,
    'dsread': job_dsread,
    'keys': job_keys,
}


def main(argv: list[str]) -> int:
    opts = _shared.parse_worker_args(argv)
    job = str(opts['job'])
    if job == 'probe':
        _shared.emit(IMPL, job, 'ok', python=sys.version.split()[0])
        return 0
    if job == 'cold':
        _shared.write_cold_input(str(opts['dir']), only_if_missing=True)
    metrics = JOBS[job](opts)
    if job == 'cold' and not os.environ.get('BENCH_VERIFIED_BY_PARENT'):
        _shared.verify_cold(str(opts['dir']))
    _shared.emit(IMPL, job, 'ok', metrics=metrics)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
