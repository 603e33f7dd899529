"""The official async SDK (`apify==4.1.0`), run through asyncio in its own venv.

Each job is written the way a user of the official SDK writes it: `async with Actor:` around the
work, `await Actor.push_data(...)` and friends. Only the work between the storage being opened
and the last call returning is timed (except `cold`, which the orchestrator times from outside).
The official `Actor` calls `sys.exit` when its context closes; the worker catches that and goes
on to verify the files and print its JSON line.

Usage: python jobs_official.py {cold,push1,batch,kvs,threads,dsread,keys} --dir D [--n N]
Prints one JSON line. Logging is quiet (`APIFY_LOG_LEVEL=ERROR`) unless the environment already
sets `APIFY_LOG_LEVEL`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _shared

IMPL = 'official'


async def job_cold(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    async with Actor:
        actor_input = await Actor.get_input()
        await Actor.set_value('OUTPUT', _shared.cold_output(actor_input))


async def job_push1(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    n = opts['n']
    items = [_shared.make_item(i) for i in range(n)]
    async with Actor:
        await Actor.open_dataset()  # open (and purge) before timing
        start = time.perf_counter()
        for item in items:
            await Actor.push_data(item)
        seconds = time.perf_counter() - start
        out.update(n=n, seconds=seconds, items_per_s=_shared.rate(n, seconds))
        out['written'] = _shared.count_item_files(opts['dir'])
        opts['expected'] = items


async def job_batch(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    n, size = opts['n'], opts['batch']
    items = [_shared.make_item(i) for i in range(n)]
    batches = [items[k : k + size] for k in range(0, n, size)]
    async with Actor:
        await Actor.open_dataset()
        start = time.perf_counter()
        for batch in batches:
            await Actor.push_data(batch)
        seconds = time.perf_counter() - start
        out.update(n=n, seconds=seconds, items_per_s=_shared.rate(n, seconds))
        out['written'] = _shared.count_item_files(opts['dir'])
        opts['expected'] = items


async def job_kvs(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    n = opts['n']
    keys = [_shared.record_key(i) for i in range(n)]
    records = [_shared.make_record(i) for i in range(n)]
    async with Actor:
        await Actor.open_key_value_store()
        start = time.perf_counter()
        for key, record in zip(keys, records, strict=True):
            await Actor.set_value(key, record)
        set_seconds = time.perf_counter() - start
        start = time.perf_counter()
        values = [await Actor.get_value(key) for key in keys]
        get_seconds = time.perf_counter() - start
        _shared.verify_read_back(values, n)
        out.update(n=n, set_seconds=set_seconds, get_seconds=get_seconds)
        out.update(set_ops_per_s=_shared.rate(n, set_seconds))
        out.update(get_ops_per_s=_shared.rate(n, get_seconds))


async def job_threads(opts: dict[str, Any], out: dict[str, Any]) -> None:
    import asyncio

    from apify import Actor

    n, tasks = opts['n'], opts['threads']
    async with Actor:
        ds = await Actor.open_dataset()

        async def pusher(t: int) -> None:
            for i in range(n):
                await ds.push_data(_shared.make_item(i, t))

        start = time.perf_counter()
        await asyncio.gather(*(pusher(t) for t in range(tasks)))
        seconds = time.perf_counter() - start
        total = n * tasks
        out.update(
            n=total, threads=tasks, seconds=seconds, items_per_s=_shared.rate(total, seconds)
        )
        out['written'] = _shared.count_item_files(opts['dir'])


async def _timed(call: Any) -> tuple[float, Any]:
    """Await `call()` READ_REPEATS times; return the median seconds and the last result."""
    times, result = [], None
    for _ in range(_shared.READ_REPEATS):
        start = time.perf_counter()
        result = await call()
        times.append(time.perf_counter() - start)
    return _shared.median(times), result


async def job_dsread(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    n = opts['n']
    _shared.populate_dataset(opts['dir'], n)
    tail = n - _shared.TAIL_PAGE
    async with Actor:
        start = time.perf_counter()
        ds = await Actor.open_dataset(name=_shared.BIG_NAME)
        open_seconds = time.perf_counter() - start
        tail_seconds, tail_page = await _timed(
            lambda: ds.get_data(offset=tail, limit=_shared.TAIL_PAGE)
        )
        head_seconds, head_page = await _timed(lambda: ds.get_data(limit=1))
        out.update(
            n=n,
            open_ms=open_seconds * 1000,
            tail_ms=tail_seconds * 1000,
            head_ms=head_seconds * 1000,
        )
        opts['pages'] = (list(tail_page.items), list(head_page.items))


async def job_keys(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    n = opts['n']
    _shared.populate_records(opts['dir'], n)
    async with Actor:
        start = time.perf_counter()
        kvs = await Actor.open_key_value_store(name=_shared.BIG_NAME)
        open_seconds = time.perf_counter() - start
        start = time.perf_counter()
        infos = [info async for info in kvs.iterate_keys()]
        seconds = time.perf_counter() - start
        out.update(
            n=n,
            open_ms=open_seconds * 1000,
            seconds=seconds,
            keys_per_s=_shared.rate(n, seconds),
        )
        opts['keys'] = ([i.key for i in infos], [i.size for i in infos])


JOBS = {
    'cold': job_cold,
    'push1': job_push1,
    'batch': job_batch,
    'kvs': job_kvs,
    'threads': job_threads,
    'dsread': job_dsread,
    'keys': job_keys,
}


def _verify(opts: dict[str, Any], metrics: dict[str, Any]) -> None:
    job, root = opts['job'], opts['dir']
    if 'written' in metrics and metrics['written'] != metrics['n']:
        raise _shared.VerificationError(
            f'only {metrics["written"]} of {metrics["n"]} item files existed when the last '
            'push_data call returned'
        )
    if job in ('push1', 'batch'):
        _shared.verify_items_in_order(root, opts.pop('expected'))
    elif job == 'kvs':
        _shared.verify_records(root, opts['n'])
    elif job == 'threads':
        _shared.verify_threaded_items(root, opts['threads'], opts['n'])
    elif job == 'dsread':
        tail_items, head_items = opts.pop('pages')
        _shared.verify_page(tail_items, opts['n'] - _shared.TAIL_PAGE, _shared.TAIL_PAGE)
        _shared.verify_page(head_items, 0, 1)
    elif job == 'keys':
        _shared.verify_keys(*opts.pop('keys'), opts['n'])
    elif job == 'cold' and not os.environ.get('BENCH_VERIFIED_BY_PARENT'):
        _shared.verify_cold(root)


def main(argv: list[str]) -> int:
    opts = _shared.parse_worker_args(argv)
    job = opts['job']
    os.environ.setdefault('APIFY_LOG_LEVEL', 'ERROR')
    if job == 'probe':
        from importlib.metadata import version

        _shared.emit(
            IMPL,
            job,
            'ok',
            python=sys.version.split()[0],
            apify=version('apify'),
            crawlee=version('crawlee'),
        )
        return 0
    if job == 'cold':
        _shared.write_cold_input(opts['dir'], only_if_missing=True)

    import asyncio

    metrics: dict[str, Any] = {}

    try:
        asyncio.run(JOBS[job](opts, metrics))
    except SystemExit as exc:  # the official Actor exits the process when its context closes
        if exc.code not in (0, None):
            raise
    _verify(opts, metrics)
    _shared.emit(IMPL, job, 'ok', metrics=metrics)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
