"""Plain-Python limits at home: the same API calls as actorkit, in a bare loop.

``--variant requests``: one ``requests.Session`` per thread; ``--variant http.client``: one
``http.client.HTTPConnection`` per thread, the floor of Python HTTP. ``--variant
http.client-1call`` (request queue job only) consumes without reading each request back: it
marks handled the request as it added it, about 1 call per request like the official SDK's
``single`` mode, to show what actorkit's queue would gain by skipping that read.

No retries, no gzip, no models: each call sends its JSON, reads the answer whole, checks the
status and decodes the JSON where the job needs it.

The calls are actorkit's: ``POST .../items`` per push, ``PUT`` and ``GET .../records/{key}``,
``POST .../requests/batch`` with 25 requests each, and per consumer ``POST .../head/lock``
(25 at a time, its own ``clientKey``) then ``GET`` + ``PUT .../requests/{id}`` (with
``handledAt``) per request.

Usage: python home_jobs_raw.py {push1,batch,kvs,rq} --n N --variant {requests,http.client,...}
    [--consumers C]
Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _home_shared as h
import _shared

IDS = h.run_ids()
JSON = 'application/json; charset=utf-8'


class RequestsCaller:
    """One `requests.Session`."""

    def __init__(self) -> None:
        import requests

        self.session = requests.Session()
        self.base = IDS['api_url']
        self.headers = {'Authorization': f'Bearer {IDS["token"]}'}
        self.json_headers = {**self.headers, 'Content-Type': JSON}

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = self.headers if body is None else self.json_headers
        response = self.session.request(
            method, self.base + path, data=body, headers=headers, timeout=30
        )
        return response.status_code, response.content


class HttpClientCaller:
    """One `http.client.HTTPConnection` (kept alive)."""

    def __init__(self) -> None:
        import http.client

        parts = urlsplit(IDS['api_url'])
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.headers = {'Authorization': f'Bearer {IDS["token"]}'}
        self.json_headers = {**self.headers, 'Content-Type': JSON}

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = self.headers if body is None else self.json_headers
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()


CALLERS = {
    'requests': RequestsCaller,
    'http.client': HttpClientCaller,
    'http.client-1call': HttpClientCaller,
}


def _check(status: int, body: bytes, expected: int, what: str) -> None:
    if status != expected:
        raise RuntimeError(f'{what}: status {status}, expected {expected}: {body[:200]!r}')


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def job_push1(new: Any, opts: dict[str, Any], out: dict[str, Any]) -> None:
    n = opts['n']
    caller = new()
    items = [h.make_item(i) for i in range(n)]
    path = f'/v2/datasets/{IDS["dataset"]}/items'
    with h.timer() as t:
        for item in items:
            status, body = caller.call('POST', path, _dumps(item))
            _check(status, body, 201, 'push')
    out.update(n=n, seconds=t.seconds, cpu_s=t.cpu, items_per_s=h.rate(n, t.seconds))


def job_batch(new: Any, opts: dict[str, Any], out: dict[str, Any]) -> None:
    n, size = opts['n'], opts['batch']
    caller = new()
    items = [h.make_item(i) for i in range(n)]
    batches = [items[k : k + size] for k in range(0, n, size)]
    path = f'/v2/datasets/{IDS["dataset"]}/items'
    with h.timer() as t:
        for batch in batches:
            status, body = caller.call('POST', path, _dumps(batch))
            _check(status, body, 201, 'push')
    out.update(n=n, seconds=t.seconds, cpu_s=t.cpu, items_per_s=h.rate(n, t.seconds))


def job_kvs(new: Any, opts: dict[str, Any], out: dict[str, Any]) -> None:
    n = opts['n']
    caller = new()
    keys = [h.record_key(i) for i in range(n)]
    records = [h.make_record(i) for i in range(n)]
    base = f'/v2/key-value-stores/{IDS["store"]}/records/'
    with h.timer() as t_set:
        for key, record in zip(keys, records, strict=True):
            status, body = caller.call('PUT', base + quote(key, safe=''), _dumps(record))
            _check(status, body, 201, 'set')
    values = []
    with h.timer() as t_get:
        for key in keys:
            status, body = caller.call('GET', base + quote(key, safe=''))
            _check(status, body, 200, 'get')
            values.append(json.loads(body))
    _shared.verify_read_back(values, n)
    out.update(n=n, set_seconds=t_set.seconds, get_seconds=t_get.seconds)
    out.update(set_ops_per_s=h.rate(n, t_set.seconds), get_ops_per_s=h.rate(n, t_get.seconds))
    out.update(set_cpu_s=t_set.cpu, get_cpu_s=t_get.cpu)


def job_rq(new: Any, opts: dict[str, Any], out: dict[str, Any]) -> None:
    n, consumers = opts['n'], opts['consumers']
    urls = [h.request_url(i) for i in range(n)]
    queue = f'/v2/request-queues/{IDS["queue"]}'
    adder = new()
    add_key = secrets.token_hex(16)
    added: dict[str, dict[str, Any]] = {}  # id -> the request as sent (for --variant *-1call)
    with h.timer() as t_add:
        for k in range(0, n, 25):
            chunk = [{'url': u, 'uniqueKey': u, 'method': 'GET'} for u in urls[k : k + 25]]
            status, body = adder.call(
                'POST', f'{queue}/requests/batch?clientKey={add_key}', _dumps(chunk)
            )
            _check(status, body, 201, 'batch add')
            data = json.loads(body)['data']
            if data['unprocessedRequests']:
                raise RuntimeError('the platform left requests unprocessed')
            by_key = {request['uniqueKey']: request for request in chunk}
            for done in data['processedRequests']:
                added[done['requestId']] = by_key[done['uniqueKey']]
    consumed: list[str] = []
    errors: list[BaseException] = []
    callers = [new() for _ in range(consumers)]
    one_call = opts['variant'].endswith('-1call')

    def consume(caller: Any) -> None:
        key = secrets.token_hex(16)
        lock = f'{queue}/head/lock?lockSecs=180&limit=25&clientKey={key}'
        try:
            while True:
                status, body = caller.call('POST', lock)
                _check(status, body, 201, 'head lock')
                items = json.loads(body)['data']['items']
                if not items:
                    return
                for item in items:
                    path = f'{queue}/requests/{item["id"]}'
                    if one_call:  # trust the request as this process added it: no GET
                        request = {**added[item['id']], 'id': item['id']}
                    else:
                        status, body = caller.call('GET', path)
                        _check(status, body, 200, 'get request')
                        request = json.loads(body)['data']
                    consumed.append(request['url'])
                    request['handledAt'] = datetime.now(timezone.utc).isoformat()
                    status, body = caller.call('PUT', f'{path}?clientKey={key}', _dumps(request))
                    _check(status, body, 200, 'update request')
        except BaseException as exc:
            errors.append(exc)

    with h.timer() as t_consume:
        if consumers == 1:
            consume(callers[0])
        else:
            threads = [
                threading.Thread(target=consume, args=(caller,), name=f'bench-consumer-{k}')
                for k, caller in enumerate(callers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    if errors:
        raise errors[0]
    h.check_consumed(consumed, n)
    out.update(
        n=n, consumers=consumers, add_seconds=t_add.seconds, consume_seconds=t_consume.seconds
    )
    out.update(add_per_s=h.rate(n, t_add.seconds), consume_per_s=h.rate(n, t_consume.seconds))
    out.update(add_cpu_s=t_add.cpu, consume_cpu_s=t_consume.cpu)


JOBS = {'push1': job_push1, 'batch': job_batch, 'kvs': job_kvs, 'rq': job_rq}


def main(argv: list[str]) -> int:
    opts = h.parse_args(argv)
    variant = opts['variant']
    if variant not in CALLERS:
        raise SystemExit(f'--variant takes {",".join(CALLERS)}, not {variant!r}')
    out: dict[str, Any] = {}
    JOBS[opts['job']](CALLERS[variant], opts, out)
    h.emit(variant, opts['job'], 'ok', metrics=out)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
