"""actorkit at home: its blocking API against a FakePlatform run (the API, never local files).

Run with the environment of a FakePlatform run (``home.py`` passes it), so ``Actor.init()``
finds ``APIFY_IS_AT_HOME=1`` and every storage call goes through actorkit's API client. Only
the calls are timed, from after the storage is opened to the return of the last call.

Jobs: ``push1`` (one item per ``push_data``), ``batch`` (lists of ``--batch``), ``kvs``
(``set_value`` then ``get_value`` of N records), ``rq`` (``add_requests`` of N URLs, then
``--consumers`` threads sharing the queue each ``fetch_next_request`` +
``mark_request_as_handled`` until nothing is waiting).

``--profile PATH`` writes a cProfile (CPU time) of the timed part (main thread) to PATH.

Usage: python home_jobs_actorkit.py {push1,batch,kvs,rq} --n N [--consumers C] [--profile P]
Prints one JSON line.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _home_shared as h
import _shared

IMPL = 'actorkit'


def job_push1(actor: Any, opts: dict[str, Any], out: dict[str, Any], prof: Any) -> None:
    n = opts['n']
    items = [h.make_item(i) for i in range(n)]
    dataset = actor.open_dataset()
    with h.timer() as t, prof:
        for item in items:
            dataset.push_data(item)
    out.update(n=n, seconds=t.seconds, cpu_s=t.cpu, items_per_s=h.rate(n, t.seconds))


def job_batch(actor: Any, opts: dict[str, Any], out: dict[str, Any], prof: Any) -> None:
    n, size = opts['n'], opts['batch']
    items = [h.make_item(i) for i in range(n)]
    batches = [items[k : k + size] for k in range(0, n, size)]
    dataset = actor.open_dataset()
    with h.timer() as t, prof:
        for batch in batches:
            dataset.push_data(batch)
    out.update(n=n, seconds=t.seconds, cpu_s=t.cpu, items_per_s=h.rate(n, t.seconds))


def job_kvs(actor: Any, opts: dict[str, Any], out: dict[str, Any], prof: Any) -> None:
    n = opts['n']
    keys = [h.record_key(i) for i in range(n)]
    records = [h.make_record(i) for i in range(n)]
    store = actor.open_key_value_store()
    with h.timer() as t_set, prof:
        for key, record in zip(keys, records, strict=True):
            store.set_value(key, record)
    with h.timer() as t_get, prof:
        values = [store.get_value(key) for key in keys]
    _shared.verify_read_back(values, n)
    out.update(n=n, set_seconds=t_set.seconds, get_seconds=t_get.seconds)
    out.update(set_ops_per_s=h.rate(n, t_set.seconds), get_ops_per_s=h.rate(n, t_get.seconds))
    out.update(set_cpu_s=t_set.cpu, get_cpu_s=t_get.cpu)


def job_rq(actor: Any, opts: dict[str, Any], out: dict[str, Any], prof: Any) -> None:
    n, consumers = opts['n'], opts['consumers']
    urls = [h.request_url(i) for i in range(n)]
    queue = actor.open_request_queue()
    with h.timer() as t_add, prof:
        queue.add_requests(urls)
    consumed: list[str] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            while True:
                request = queue.fetch_next_request()
                if request is None:
                    return  # nothing waiting: the rest is handled or held by another consumer
                consumed.append(request.url)
                queue.mark_request_as_handled(request)
        except BaseException as exc:  # reported below
            errors.append(exc)

    with h.timer() as t_consume, prof:
        if consumers == 1:
            consume()
        else:
            threads = [
                threading.Thread(target=consume, name=f'bench-consumer-{k}')
                for k in range(consumers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    if errors:
        raise errors[0]
    h.check_consumed(consumed, n)
    if not queue.is_finished():
        raise _shared.VerificationError('the queue is not finished after consuming everything')
    out.update(
        n=n, consumers=consumers, add_seconds=t_add.seconds, consume_seconds=t_consume.seconds
    )
    out.update(add_per_s=h.rate(n, t_add.seconds), consume_per_s=h.rate(n, t_consume.seconds))
    out.update(add_cpu_s=t_add.cpu, consume_cpu_s=t_consume.cpu)


class _Profile:
    """A cProfile that can be entered several times (or does nothing without a path)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.profile: Any = None
        if path:
            import cProfile
            import time

            # CPU time, not wall time: on a busy machine a wall-clock profile charges the time
            # this process waits for a core to whatever function it was in. Waiting for the
            # server is the wall time minus this.
            self.profile = cProfile.Profile(time.process_time)

    def __enter__(self) -> None:
        if self.profile is not None:
            self.profile.enable()

    def __exit__(self, *exc: object) -> None:
        if self.profile is not None:
            self.profile.disable()

    def dump(self) -> None:
        if self.profile is not None:
            self.profile.dump_stats(self.path)


JOBS = {'push1': job_push1, 'batch': job_batch, 'kvs': job_kvs, 'rq': job_rq}


def main(argv: list[str]) -> int:
    opts = h.parse_args(argv)
    from actorkit import Actor

    out: dict[str, Any] = {}
    prof = _Profile(opts['profile'])
    actor = Actor()
    actor.init()
    try:
        JOBS[opts['job']](actor, opts, out, prof)
    finally:
        try:
            actor.exit()
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise
    prof.dump()
    h.emit(IMPL, opts['job'], 'ok', metrics=out)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
