"""Pay-per-event charges per second: actorkit against the official SDK, locally and at home.

Usage: .venv/bin/python bench/charges.py [--charges 1000] [--rounds 3]
       [--official-python /tmp/official-venv/bin/python]

Every run is a fresh worker process: a pay-per-event Actor (one event ``op`` at $0.001, a
budget far above what the run spends) that charges ``op`` once per call, N times, from 1
thread or from 16 threads (the official SDK: 16 asyncio tasks under ``asyncio.gather``), and
times only the charges. Each round runs every combination, interleaved:

- ``local``: a local run (``APIFY_ACTOR_PRICING_INFO`` set, purge on start): each charge is
  appended to the ``charging-log`` dataset, in both SDKs.
- ``home``: a run of a FakePlatform serving in a process of its own: each charge is one
  ``POST /v2/actor-runs/{id}/charge``. The server is Python and bounds everyone.

After each run the worker checks its results: N charged, and (locally) N items in the
``charging-log``; at home the orchestrator checks that the platform recorded N charges.
Printed: charges/s (median of the rounds) and actorkit / official, paired by round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRICING = {
    'pricingModel': 'PAY_PER_EVENT',
    'pricingPerEvent': {
        'actorChargeEvents': {
            'op': {'eventTitle': 'Op', 'eventPriceUsd': 0.001, 'eventDescription': 'Op'}
        }
    },
    # The official SDK's model needs these (the platform always sends them).
    'apifyMarginPercentage': 0,
    'createdAt': '2026-01-01T00:00:00.000Z',
    'startedAt': '2026-01-01T00:00:00.000Z',
}
BUDGET = '1000000'

SERVER = r"""
import json, sys
from actorkit.testing import FakePlatform
with FakePlatform() as platform:
    for line in sys.stdin:
        command = line.split()
        if command[0] == 'run':
            env = platform.run_env(
                pricing_info=json.loads(sys.argv[1]),
                max_total_charge_usd=sys.argv[2],
                charged_event_counts={'op': 0},
            )
            env.pop('ACTOR_EVENTS_WEBSOCKET_URL', None)
            print(json.dumps(env), flush=True)
        elif command[0] == 'count':
            print(sum(c.count for c in platform.charges(command[1])), flush=True)
"""


def run_actorkit(calls: int, threads: int) -> float:
    import threading

    from actorkit import Actor

    actor = Actor(exit_process=False, configure_logging=False)
    with actor:
        actor.get_charging_manager()
        per_thread = calls // threads
        start = threading.Barrier(threads + 1)
        done: list[int] = []

        def work() -> None:
            start.wait()
            total = 0
            for _ in range(per_thread):
                total += actor.charge('op').charged_count
            done.append(total)

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        start.wait()
        began = time.perf_counter()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - began
        assert sum(done) == per_thread * threads, done
        if not actor.is_at_home():
            assert actor.open_dataset(name='charging-log').item_count == per_thread * threads
    return seconds


def run_official(calls: int, threads: int) -> float:
    import asyncio

    from apify import Actor

    async def main() -> float:
        async with Actor:
            per_task = calls // threads

            async def work() -> int:
                total = 0
                for _ in range(per_task):
                    total += (await Actor.charge('op')).charged_count
                return total

            began = time.perf_counter()
            done = await asyncio.gather(*(work() for _ in range(threads)))
            seconds = time.perf_counter() - began
            assert sum(done) == per_task * threads, done
            if not Actor.is_at_home():
                log = await Actor.open_dataset(name='charging-log')
                assert (await log.get_metadata()).item_count == per_task * threads
            # Printed here: leaving `async with Actor` ends the process.
            print(json.dumps({'seconds': seconds}), flush=True)
            return seconds

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--charges', type=int, default=1000)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--official-python', default='/tmp/official-venv/bin/python')
    parser.add_argument('--worker', nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        impl, calls, threads = args.worker[0], int(args.worker[1]), int(args.worker[2])
        if impl == 'actorkit':
            print(json.dumps({'seconds': run_actorkit(calls, threads)}))
        else:
            run_official(calls, threads)
        return

    impls = ['actorkit']
    if os.path.exists(args.official_python):
        impls.append('official')
    else:
        print(f'(no {args.official_python}: the official SDK is left out)')
    server = subprocess.Popen(
        [sys.executable, '-c', SERVER, json.dumps(PRICING), BUDGET],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(('APIFY_', 'ACTOR_', 'CRAWLEE_', 'ACTORKIT_'))
    }
    base.update(PYTHONPATH=str(ROOT), APIFY_LOG_LEVEL='ERROR')
    rates: dict[tuple[str, str, int], list[float]] = {}
    assert server.stdin is not None
    assert server.stdout is not None

    def ask(line: str) -> str:
        server.stdin.write(line + '\n')  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        return server.stdout.readline()  # type: ignore[union-attr]

    try:
        for _ in range(args.rounds):
            for where in ('local', 'home'):
                for threads in (1, 16):
                    for impl in impls:
                        with tempfile.TemporaryDirectory() as folder:
                            env = dict(base)
                            run_id = None
                            if where == 'local':
                                env.update(
                                    APIFY_LOCAL_STORAGE_DIR=os.path.join(folder, 'storage'),
                                    APIFY_ACTOR_PRICING_INFO=json.dumps(PRICING),
                                    # the official SDK reads {} as unset
                                    APIFY_CHARGED_ACTOR_EVENT_COUNTS='{"op": 0}',
                                    ACTOR_MAX_TOTAL_CHARGE_USD=BUDGET,
                                )
                            else:
                                run_env = json.loads(ask('run'))
                                run_id = run_env['ACTOR_RUN_ID']
                                env.update(run_env)
                            python = args.official_python if impl == 'official' else sys.executable
                            command = [python, __file__, '--worker', impl]
                            done = subprocess.run(
                                [*command, str(args.charges), str(threads)],
                                check=False,
                                capture_output=True,
                                text=True,
                                cwd=folder,
                                env=env,
                            )
                            lines = done.stdout.strip().splitlines()
                            if done.returncode or not lines:
                                raise SystemExit(
                                    f'{impl} {where} {threads} failed ({done.returncode}):\n'
                                    f'{done.stdout}\n{done.stderr}'
                                )
                            seconds = json.loads(lines[-1])['seconds']
                            n = args.charges // threads * threads
                            if run_id is not None:
                                recorded = int(ask(f'count {run_id}'))
                                assert recorded == n, (impl, recorded, n)
                            rates.setdefault((where, impl, threads), []).append(n / seconds)
    finally:
        server.stdin.close()
        server.wait(10)

    print(f'{args.charges} charges x {args.rounds} rounds; charges/s, medians')
    for where in ('local', 'home'):
        for threads in (1, 16):
            line = f'  {where:5s} {threads:2d} thread{"s" if threads > 1 else " "}'
            for impl in impls:
                line += f'  {impl} {statistics.median(rates[where, impl, threads]):8.0f}/s'
            if 'official' in impls:
                pairs = zip(
                    rates[where, 'actorkit', threads],
                    rates[where, 'official', threads],
                    strict=True,
                )
                ratio = statistics.median(a / o for a, o in pairs)
                line += f'   actorkit x{ratio:.2f} of official'
            print(line)


if __name__ == '__main__':
    main()
