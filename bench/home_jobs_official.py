"""The official async SDK (``apify==4.1.0``) at home, against a FakePlatform run.

Run with the environment of a FakePlatform run (``home.py`` passes it), in the official SDK's
own venv. Each job is written the way its docs show: ``async with Actor:`` around the work,
``await Actor.push_data(...)`` and friends; only the calls are timed.

The request queue job adds N URLs with ``add_requests`` (its defaults: batches of 1,000 with a
1 s wait between them; ``wait_for_all_requests_to_be_added=True``, or the call returns after the
first batch and the rest is added in the background, out of the timing), then ``--consumers``
asyncio tasks share the queue, each ``fetch_next_request`` + ``mark_request_as_handled`` until
nothing is waiting. ``--variant shared`` opens the queue in the SDK's ``shared`` access mode
(head-and-lock, safe for several consumer processes) instead of its default ``single`` mode
(one consumer client; it serves the requests it added itself from its cache).

Usage: python home_jobs_official.py {push1,batch,kvs,rq} --n N [--consumers C] [--variant shared]
Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _home_shared as h
import _shared

IMPL = 'official'


async def job_push1(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    n = opts['n']
    items = [h.make_item(i) for i in range(n)]
    async with Actor:
        await Actor.open_dataset()
        with h.timer() as t:
            for item in items:
                await Actor.push_data(item)
        out.update(n=n, seconds=t.seconds, cpu_s=t.cpu, items_per_s=h.rate(n, t.seconds))


async def job_batch(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    n, size = opts['n'], opts['batch']
    items = [h.make_item(i) for i in range(n)]
    batches = [items[k : k + size] for k in range(0, n, size)]
    async with Actor:
        await Actor.open_dataset()
        with h.timer() as t:
            for batch in batches:
                await Actor.push_data(batch)
        out.update(n=n, seconds=t.seconds, cpu_s=t.cpu, items_per_s=h.rate(n, t.seconds))


async def job_kvs(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    n = opts['n']
    keys = [h.record_key(i) for i in range(n)]
    records = [h.make_record(i) for i in range(n)]
    async with Actor:
        await Actor.open_key_value_store()
        with h.timer() as t_set:
            for key, record in zip(keys, records, strict=True):
                await Actor.set_value(key, record)
        with h.timer() as t_get:
            values = [await Actor.get_value(key) for key in keys]
        _shared.verify_read_back(values, n)
        out.update(n=n, set_seconds=t_set.seconds, get_seconds=t_get.seconds)
        out.update(set_ops_per_s=h.rate(n, t_set.seconds), get_ops_per_s=h.rate(n, t_get.seconds))
        out.update(set_cpu_s=t_set.cpu, get_cpu_s=t_get.cpu)


def _use_shared_queue_mode() -> None:
    from apify.storage_clients import ApifyStorageClient, SmartApifyStorageClient
    from apify.storage_clients._file_system import ApifyFileSystemStorageClient
    from crawlee import service_locator

    service_locator.set_storage_client(
        SmartApifyStorageClient(
            cloud_storage_client=ApifyStorageClient(request_queue_access='shared'),
            local_storage_client=ApifyFileSystemStorageClient(),
        )
    )


async def job_rq(opts: dict[str, Any], out: dict[str, Any]) -> None:
    from apify import Actor

    n, consumers = opts['n'], opts['consumers']
    urls = [h.request_url(i) for i in range(n)]
    if opts['variant'] == 'shared':
        _use_shared_queue_mode()
    elif opts['variant'] is not None:
        raise SystemExit(f'--variant takes shared, not {opts["variant"]!r}')
    consumed: list[str] = []
    async with Actor:
        queue = await Actor.open_request_queue()
        with h.timer() as t_add:
            await queue.add_requests(urls, wait_for_all_requests_to_be_added=True)

        async def consume() -> None:
            while True:
                request = await queue.fetch_next_request()
                if request is None:
                    return  # nothing waiting: the rest is handled or held by another consumer
                consumed.append(request.url)
                await queue.mark_request_as_handled(request)

        with h.timer() as t_consume:
            await asyncio.gather(*(consume() for _ in range(consumers)))
        h.check_consumed(consumed, n)
        if not await queue.is_finished():
            raise _shared.VerificationError('the queue is not finished after consuming everything')
        out.update(n=n, consumers=consumers)
        out.update(add_seconds=t_add.seconds, consume_seconds=t_consume.seconds)
        out.update(add_per_s=h.rate(n, t_add.seconds), consume_per_s=h.rate(n, t_consume.seconds))
        out.update(add_cpu_s=t_add.cpu, consume_cpu_s=t_consume.cpu)


JOBS = {'push1': job_push1, 'batch': job_batch, 'kvs': job_kvs, 'rq': job_rq}


def main(argv: list[str]) -> int:
    opts = h.parse_args(argv)
    out: dict[str, Any] = {}
    try:
        asyncio.run(JOBS[opts['job']](opts, out))
    except SystemExit as exc:  # the official Actor exits the process when its context closes
        if exc.code not in (0, None):
            raise
    impl = IMPL if opts['variant'] is None else f'{IMPL}-{opts["variant"]}'
    h.emit(impl, opts['job'], 'ok', metrics=out)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
