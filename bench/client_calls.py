"""Single API calls per second: actorkit's client against the official one and plain loops.

Usage: .venv/bin/python bench/client_calls.py [--calls 3000] [--rounds 3]
       [--official-python /tmp/official-venv/bin/python]

A FakePlatform serves in a process of its own. Each implementation runs in a fresh process of
its own, one after the other, for each round: N single-item pushes
(``POST /v2/datasets/{id}/items``, one small JSON object) then N record gets
(``GET /v2/key-value-stores/{id}/records/{key}``), one call at a time on one thread, the
answer read whole and checked. Printed: calls/s (median of the rounds) and each one's ratio to
the official client, paired by round.

- ``actorkit``: ``actorkit.client.ApifyClient`` (retries, timeouts and all).
- ``official``: ``apify_client.ApifyClient`` (its Rust HTTP stack), from its own venv.
- ``requests``: a plain ``requests.Session`` loop (``session.post(url, data=..., headers=...)``).
- ``http.client``: a bare ``http.client.HTTPConnection`` loop, the floor of Python HTTP.

The server is Python too: its own cost per call is part of every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ITEM = {'i': 1, 'title': 'hello world', 'url': 'https://example.com/1'}
RECORD = {'count': 1, 'title': 'a small JSON record'}

SERVER = r"""
import json, sys
from actorkit.testing import FakePlatform
with FakePlatform() as platform:
    dataset = platform.create_dataset('bench')
    store = platform.create_key_value_store('bench')
    platform.set_record(store, 'record', json.loads(sys.argv[1]))
    print(json.dumps([platform.api_url, platform.token, dataset, store]), flush=True)
    sys.stdin.read()
"""


def worker(name: str, target: list[str], calls: int) -> None:
    api_url, token, dataset, store = target
    push_path = f'/v2/datasets/{dataset}/items'
    get_path = f'/v2/key-value-stores/{store}/records/record'
    body = json.dumps(ITEM, separators=(',', ':'))
    if name == 'actorkit':
        from actorkit.client import ApifyClient

        client = ApifyClient(token, api_url=api_url)
        dataset_client = client.dataset(dataset)
        store_client = client.key_value_store(store)

        def push() -> None:
            dataset_client.push_items(ITEM)

        def get() -> None:
            assert store_client.get_record('record')['value'] == RECORD

    elif name == 'official':
        from apify_client import ApifyClient as OfficialClient

        official = OfficialClient(token, api_url=api_url)
        official_dataset = official.dataset(dataset)
        official_store = official.key_value_store(store)

        def push() -> None:
            official_dataset.push_items(ITEM)

        def get() -> None:
            assert official_store.get_record('record')['value'] == RECORD

    elif name == 'requests':
        import requests

        session = requests.Session()
        headers = {'Authorization': f'Bearer {token}', 'Content-Type': 'application/json'}

        def push() -> None:
            response = session.post(api_url + push_path, data=body, headers=headers, timeout=30)
            response.raise_for_status()

        def get() -> None:
            response = session.get(api_url + get_path, headers=headers, timeout=30)
            response.raise_for_status()
            assert response.json() == RECORD

    elif name == 'http.client':
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(api_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        headers = {'Authorization': f'Bearer {token}', 'Content-Type': 'application/json'}
        encoded = body.encode()

        def push() -> None:
            connection.request('POST', push_path, body=encoded, headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 201, response.status

        def get() -> None:
            connection.request('GET', get_path, headers=headers)
            response = connection.getresponse()
            assert json.loads(response.read()) == RECORD

    else:
        raise SystemExit(f'unknown implementation {name!r}')

    results = {}
    for label, call in (('push', push), ('get', get)):
        for _ in range(min(200, calls)):
            call()
        start = time.perf_counter()
        cpu = time.process_time()
        for _ in range(calls):
            call()
        wall = time.perf_counter() - start
        results[label] = {
            'per_s': calls / wall,
            'cpu_us': (time.process_time() - cpu) / calls * 1e6,
        }
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--calls', type=int, default=3000)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--official-python', default='/tmp/official-venv/bin/python')
    parser.add_argument('--worker', nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        name, api_url, token, dataset, store, calls = args.worker
        worker(name, [api_url, token, dataset, store], int(calls))
        return

    server = subprocess.Popen(
        [sys.executable, '-c', SERVER, json.dumps(RECORD)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        api_url, token, dataset, store = json.loads(server.stdout.readline())
        names = ['actorkit', 'requests', 'http.client']
        if os.path.exists(args.official_python):
            names.insert(1, 'official')
        else:
            print(f'(no {args.official_python}: the official client is left out)')
        rounds: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in names}
        for _ in range(args.rounds):
            for name in names:
                python = args.official_python if name == 'official' else sys.executable
                output = subprocess.run(
                    [
                        python,
                        __file__,
                        '--worker',
                        name,
                        api_url,
                        token,
                        dataset,
                        store,
                        str(args.calls),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    env={**os.environ, 'PYTHONPATH': ''},
                ).stdout
                rounds[name].append(json.loads(output.strip().splitlines()[-1]))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(10)

    print(f'{args.calls} calls x {args.rounds} rounds, one thread; medians')
    reference = 'official' if 'official' in rounds else 'requests'
    for label in ('push', 'get'):
        print(f'\n{label}:')
        for name in names:
            rates = [r[label]['per_s'] for r in rounds[name]]
            cpu = statistics.median(r[label]['cpu_us'] for r in rounds[name])
            pairs = list(zip(rounds[name], rounds[reference], strict=True))
            ratio = statistics.median(m[label]['per_s'] / r[label]['per_s'] for m, r in pairs)
            cpu_ratio = statistics.median(m[label]['cpu_us'] / r[label]['cpu_us'] for m, r in pairs)
            print(
                f'  {name:12s} {statistics.median(rates):7.0f}/s  x{ratio:.2f} of {reference}   '
                f'cpu {cpu:6.1f} us/call  x{cpu_ratio:.2f} of {reference}'
            )


if __name__ == '__main__':
    main()
