"""What the at-home workers share: the workload, the worker arguments, the output line.

Standard library only: the official SDK's venv imports it too. The items and records are the
local benchmarks' (``_shared.py``); the requests are ``request_url(i)``.

A worker runs as the Actor run whose environment ``home.py`` passes it (``APIFY_IS_AT_HOME=1``,
the token, the API URL and the default storage ids of a fresh FakePlatform run), so both SDKs
talk to the platform's API, never to local files.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _shared
from _shared import emit, make_item, make_record, rate, record_key

__all__ = [
    'HOME_JOBS',
    'emit',
    'make_item',
    'make_record',
    'parse_args',
    'rate',
    'record_key',
    'request_url',
    'run_ids',
    'timer',
]

#: The jobs a worker understands. `rq` takes `--consumers`.
HOME_JOBS = ('push1', 'batch', 'kvs', 'rq')

BATCH_SIZE = _shared.BATCH_SIZE


def request_url(i: int) -> str:
    """Return the URL of request number `i` (its own unique key: already normalized)."""
    return f'https://example.com/page/{i}'


def parse_args(argv: list[str]) -> dict[str, Any]:
    """Parse `JOB --n N [--consumers C] [--batch B] [--profile PATH] [--variant V]`."""
    usage = (
        f'usage: home_jobs_X.py {{{",".join(HOME_JOBS)}}} --n N [--consumers C] [--batch B] '
        '[--profile PATH] [--variant V]'
    )
    if not argv or argv[0] in ('-h', '--help'):
        print(usage)
        raise SystemExit(0 if argv else 2)
    job = argv[0]
    if job not in HOME_JOBS:
        raise SystemExit(f'unknown job {job!r}; {usage}')
    opts: dict[str, Any] = {
        'job': job,
        'n': None,
        'consumers': 1,
        'batch': BATCH_SIZE,
        'profile': None,
        'variant': None,
    }
    rest = argv[1:]
    while rest:
        name, *rest = rest
        if name not in ('--n', '--consumers', '--batch', '--profile', '--variant') or not rest:
            raise SystemExit(f'bad argument {name!r}; {usage}')
        value, *rest = rest
        key = name[2:]
        opts[key] = value if key in ('profile', 'variant') else int(value)
    if opts['n'] is None:
        raise SystemExit(f'--n is required; {usage}')
    if os.environ.get('APIFY_IS_AT_HOME') != '1' or not os.environ.get('APIFY_API_BASE_URL'):
        raise SystemExit('run me with the environment of a FakePlatform run (see home.py)')
    return opts


def run_ids() -> dict[str, str]:
    """Return the API URL, the token and the run's default storage ids from the environment."""
    env = os.environ
    return {
        'api_url': env['APIFY_API_BASE_URL'].rstrip('/'),
        'token': env['APIFY_TOKEN'],
        'dataset': env['ACTOR_DEFAULT_DATASET_ID'],
        'store': env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'],
        'queue': env['ACTOR_DEFAULT_REQUEST_QUEUE_ID'],
    }


class timer:  # noqa: N801 - used as a context manager, like a function
    """Time a block: wall seconds and this process's CPU seconds (all its threads)."""

    def __enter__(self) -> timer:
        self.seconds = self.cpu = 0.0
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def check_consumed(urls: list[str], n: int) -> None:
    """Check that the consumers got every request exactly once."""
    if len(urls) != n or len(set(urls)) != n:
        duplicates = len(urls) - len(set(urls))
        raise _shared.VerificationError(
            f'consumed {len(urls)} requests ({duplicates} duplicates), expected {n} distinct'
        )
    if set(urls) != {request_url(i) for i in range(n)}:
        raise _shared.VerificationError('the consumed requests are not the ones added')
