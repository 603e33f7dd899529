"""actorkit, through its blocking API: `a = Actor(); a.init(); ...; a.exit()`.

Only the work between the storage being opened and the last call returning is timed (except
`cold`, which the orchestrator times from outside). If `exit()` ends the process with
`sys.exit` the way the official SDK does, the worker catches it and goes on to verify the files.

While actorkit's storage API is still being written, every job (and `probe`) prints a line with
`"status": "unavailable"` and the reason, and exits 0, instead of crashing.

Usage: python jobs_actorkit.py {probe,cold,push1,batch,kvs,threads,dsread,keys} --dir D [--n N]
Prints one JSON line.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _shared

IMPL = 'actorkit'

#: What the jobs call; a missing one makes the whole implementation 'unavailable'.
NEEDED = ('init', 'get_input', 'set_value', 'get_value', 'push_data', 'open_dataset', 'exit')


def _new_actor() -> Any:
    try:
        from actorkit import Actor
    except ImportError as exc:
        raise _shared.Unavailable(f'cannot import actorkit.Actor: {exc}') from exc
    actor = Actor()
    missing = [name for name in NEEDED if not callable(getattr(actor, name, None))]
    if missing:
        raise _shared.Unavailable(f'actorkit.Actor has no {", ".join(missing)} yet')
    return actor


def _exit(actor: Any) -> None:
    try:
        actor.exit()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise


def probe() -> dict[str, Any]:
    """Use every call the jobs need once, in a throwaway folder; raise if one does not work."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix='actorkit-bench-probe-') as folder:
        root = os.path.join(folder, 'storage')
        os.environ['APIFY_LOCAL_STORAGE_DIR'] = root
        try:
            actor = _new_actor()
            actor.init()
            actor.get_input()
            actor.push_data(_shared.make_item(0))
            actor.push_data([_shared.make_item(1), _shared.make_item(2)])
            actor.open_dataset().push_data(_shared.make_item(3))
            actor.set_value(_shared.record_key(0), _shared.make_record(0))
            value = actor.get_value(_shared.record_key(0))
            _exit(actor)
            _shared.verify_read_back([value], 1)
            _shared.verify_records(root, 1)
            _shared.verify_items_in_order(root, [_shared.make_item(i) for i in range(4)])
        except _shared.Unavailable:
            raise
        except Exception as exc:
            # While the API is being written, anything failing here means "not ready yet".
            raise _shared.Unavailable(f'probe failed: {type(exc).__name__}: {exc}') from exc
    from importlib.metadata import version

    return {'python': sys.version.split()[0], 'actorkit': version('actorkit')}


def job_cold(opts: dict[str, Any]) -> dict[str, Any]:
    actor = _new_actor()
    actor.init()
    actor_input = actor.get_input()
    actor.set_value('OUTPUT', _shared.cold_output(actor_input))
    _exit(actor)
    return {}


def job_push1(opts: dict[str, Any]) -> dict[str, Any]:
    n, root = opts['n'], opts['dir']
    items = [_shared.make_item(i) for i in range(n)]
    actor = _new_actor()
    actor.init()
    actor.open_dataset()  # open (and purge) before timing
    start = time.perf_counter()
    for item in items:
        actor.push_data(item)
    seconds = time.perf_counter() - start
    written = _shared.count_item_files(root)
    _exit(actor)
    _check_written(written, n)
    _shared.verify_items_in_order(root, items)
    return {'n': n, 'seconds': seconds, 'items_per_s': _shared.rate(n, seconds)}


def job_batch(opts: dict[str, Any]) -> dict[str, Any]:
    n, size, root = opts['n'], opts['batch'], opts['dir']
    items = [_shared.make_item(i) for i in range(n)]
    batches = [items[k : k + size] for k in range(0, n, size)]
    actor = _new_actor()
    actor.init()
    actor.open_dataset()
    start = time.perf_counter()
    for batch in batches:
        actor.push_data(batch)
    seconds = time.perf_counter() - start
    written = _shared.count_item_files(root)
    _exit(actor)
    _check_written(written, n)
    _shared.verify_items_in_order(root, items)
    return {'n': n, 'seconds': seconds, 'items_per_s': _shared.rate(n, seconds)}


def job_kvs(opts: dict[str, Any]) -> dict[str, Any]:
    n, root = opts['n'], opts['dir']
    keys = [_shared.record_key(i) for i in range(n)]
    records = [_shared.make_record(i) for i in range(n)]
    actor = _new_actor()
    actor.init()
    if callable(getattr(actor, 'open_key_value_store', None)):
        actor.open_key_value_store()
    start = time.perf_counter()
    for key, record in zip(keys, records, strict=True):
        actor.set_value(key, record)
    set_seconds = time.perf_counter() - start
    start = time.perf_counter()
    values = [actor.get_value(key) for key in keys]
    get_seconds = time.perf_counter() - start
    _exit(actor)
    _shared.verify_read_back(values, n)
    _shared.verify_records(root, n)
    return {
        'n': n,
        'set_seconds': set_seconds,
        'get_seconds': get_seconds,
        'set_ops_per_s': _shared.rate(n, set_seconds),
        'get_ops_per_s': _shared.rate(n, get_seconds),
    }


def job_threads(opts: dict[str, Any]) -> dict[str, Any]:
    import threading

    n, threads, root = opts['n'], opts['threads'], opts['dir']
    actor = _new_actor()
    actor.init()
    ds = actor.open_dataset()
    go = threading.Event()
    errors: list[BaseException] = []

    def pusher(t: int) -> None:
        items = [_shared.make_item(i, t) for i in range(n)]
        go.wait()
        try:
            for item in items:
                ds.push_data(item)
        except BaseException as exc:
            errors.append(exc)
            raise

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
    written = _shared.count_item_files(root)
    _exit(actor)
    if errors:
        raise RuntimeError(f'{len(errors)} pusher thread(s) failed') from errors[0]
    total = n * threads
    _check_written(written, total)
    _shared.verify_threaded_items(root, threads, n)
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


def job_dsread(opts: dict[str, Any]) -> dict[str, Any]:
    n, root = opts['n'], opts['dir']
    _shared.populate_dataset(root, n)
    actor = _new_actor()
    actor.init()
    start = time.perf_counter()
    ds = actor.open_dataset(name=_shared.BIG_NAME)
    open_seconds = time.perf_counter() - start
    tail = n - _shared.TAIL_PAGE
    tail_seconds, tail_items = _timed(
        lambda: ds.get_data(offset=tail, limit=_shared.TAIL_PAGE).items
    )
    head_seconds, head_items = _timed(lambda: ds.get_data(limit=1).items)
    _exit(actor)
    _shared.verify_page(list(tail_items), tail, _shared.TAIL_PAGE)
    _shared.verify_page(list(head_items), 0, 1)
    return {
        'n': n,
        'open_ms': open_seconds * 1000,
        'tail_ms': tail_seconds * 1000,
        'head_ms': head_seconds * 1000,
    }


def job_keys(opts: dict[str, Any]) -> dict[str, Any]:
    n, root = opts['n'], opts['dir']
    _shared.populate_records(root, n)
    actor = _new_actor()
    actor.init()
    start = time.perf_counter()
    kvs = actor.open_key_value_store(name=_shared.BIG_NAME)
    open_seconds = time.perf_counter() - start
    start = time.perf_counter()
    infos = list(kvs.iterate_keys())
    seconds = time.perf_counter() - start
    _exit(actor)
    _shared.verify_keys([i.key for i in infos], [i.size for i in infos], n)
    return {
        'n': n,
        'open_ms': open_seconds * 1000,
        'seconds': seconds,
        'keys_per_s': _shared.rate(n, seconds),
    }


def _check_written(written: int, n: int) -> None:
    if written != n:
        raise _shared.VerificationError(
            f'only {written} of {n} item files existed when the last push_data call returned'
        )


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
    job = opts['job']
    os.environ.setdefault('APIFY_LOG_LEVEL', 'ERROR')
    try:
        if job == 'probe':
            _shared.emit(IMPL, job, 'ok', **probe())
            return 0
        if job == 'cold':
            _shared.write_cold_input(opts['dir'], only_if_missing=True)
        metrics = JOBS[job](opts)
    except (_shared.Unavailable, NotImplementedError) as exc:
        reason = str(exc) or f'{type(exc).__name__} raised'
        _shared.emit(IMPL, job, 'unavailable', reason=reason)
        return 0
    if job == 'cold' and not os.environ.get('BENCH_VERIFIED_BY_PARENT'):
        _shared.verify_cold(opts['dir'])
    _shared.emit(IMPL, job, 'ok', metrics=metrics)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
