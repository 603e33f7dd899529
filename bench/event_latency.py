"""Event latency over the events websocket: from the FakePlatform's send to the listener.

A FakePlatform sends ``systemInfo`` frames one at a time to a run at home; each frame carries
its sequence number (as ``memCurrentBytes``). The time is taken just before
``platform.send_event`` (the frame is encoded and written to the socket in that call) and as
the first statement of the listener, which runs on an ``actorkit-callback-*`` worker after the
``actorkit-events-ws`` reader parsed the frame and handed it to the EventManager.

Two modes:

- ``inprocess``: the Actor runs in this process; the next frame is sent when the listener
  has signalled (so frames never queue). Clock: ``time.perf_counter_ns``.
- ``subprocess``: the Actor runs in a child process, as on the platform; frames are paced
  ``--gap-ms`` apart and the child reports its listener times at exit. Clock:
  ``time.time_ns`` (the same system clock in both processes). On a busy machine a frame may
  reach a listener that is still busy with two earlier ones; it is then merged into the
  waiting call (the EventManager's rule) and counted as ``merged``, not timed.

Usage: ``.venv/bin/python bench/event_latency.py [--events 1000] [--mode both]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from actorkit import Actor, Configuration, Event, SystemInfoData
from actorkit.testing import FakePlatform

ROOT = Path(__file__).resolve().parent.parent


def _frame(seq: int) -> dict[str, object]:
    return {'cpuCurrentUsage': 12.5, 'memCurrentBytes': seq, 'isCpuOverloaded': False}


def _summary(name: str, latencies_ms: list[float]) -> dict[str, object]:
    ordered = sorted(latencies_ms)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    result = {
        'mode': name,
        'events': len(ordered),
        'p50_ms': round(statistics.median(ordered), 3),
        'p90_ms': round(pct(90), 3),
        'p99_ms': round(pct(99), 3),
        'max_ms': round(ordered[-1], 3),
    }
    print(
        f'{name:>10}: {len(ordered)} events  p50 {result["p50_ms"]:.3f} ms  '
        f'p90 {result["p90_ms"]:.3f} ms  p99 {result["p99_ms"]:.3f} ms  '
        f'max {result["max_ms"]:.3f} ms'
    )
    return result


def in_process(events: int, warmup: int) -> dict[str, object]:
    """The Actor in this process; each frame is sent after the previous listener ran."""
    with FakePlatform() as platform:
        env = platform.run_env()
        env['APIFY_LOG_LEVEL'] = 'ERROR'
        run_id = env['ACTOR_RUN_ID']
        actor = Actor(
            config=Configuration.from_env(env), configure_logging=False, exit_process=False
        )
        started: dict[int, int] = {}
        ran = threading.Event()

        def listener(data: SystemInfoData) -> None:
            started[data.mem_current_bytes] = time.perf_counter_ns()
            ran.set()

        actor.on(Event.SYSTEM_INFO, listener)
        actor.init()
        try:
            platform.wait_for_events_connection(run_id)
            sent: dict[int, int] = {}
            for seq in range(warmup + events):
                ran.clear()
                sent[seq] = time.perf_counter_ns()
                platform.send_event(run_id, 'systemInfo', _frame(seq))
                if not ran.wait(5):
                    raise RuntimeError(f'event {seq} did not reach the listener in 5 s')
                # The listener's call must be over before the next frame, or that frame
                # would wait behind it (one call per listener at a time).
                actor.event_manager.wait_for_all_listeners_to_complete(timeout=5)
        finally:
            actor.exit()
    latencies = [(started[s] - sent[s]) / 1e6 for s in range(warmup, warmup + events)]
    return _summary('inprocess', latencies)


_CHILD = """
    import json, sys, time
    from actorkit import Event, actor

    started = {}

    def listener(data):
        started[data.mem_current_bytes] = time.time_ns()

    actor.on(Event.SYSTEM_INFO, listener)
    with actor:
        print('ready', flush=True)
        sys.stdin.readline()
        print(json.dumps(started), flush=True)
"""


def in_subprocess(events: int, warmup: int, gap_ms: float) -> dict[str, object]:
    """The Actor in a child process; frames are paced ``gap_ms`` apart."""
    with FakePlatform() as platform, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **platform.run_env(), 'APIFY_LOG_LEVEL': 'ERROR'}
        env['PYTHONPATH'] = os.pathsep.join([str(ROOT), env.get('PYTHONPATH', '')])
        run_id = env['ACTOR_RUN_ID']
        script = Path(tmp) / 'child.py'
        script.write_text(textwrap.dedent(_CHILD))
        child = subprocess.Popen(
            [sys.executable, str(script)],
            env=env,
            cwd=tmp,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None
        assert child.stdout is not None
        try:
            assert child.stdout.readline().strip() == 'ready'
            platform.wait_for_events_connection(run_id)
            pause = threading.Event()
            sent: dict[int, int] = {}
            for seq in range(warmup + events):
                sent[seq] = time.time_ns()
                platform.send_event(run_id, 'systemInfo', _frame(seq))
                pause.wait(gap_ms / 1000)
            pause.wait(0.5)
            child.stdin.write('\n')
            child.stdin.flush()
            started = {int(k): v for k, v in json.loads(child.stdout.readline()).items()}
            child.wait(30)
        finally:
            child.kill()
            child.wait()
    # A frame that arrives while the listener still runs one call and has one waiting is
    # merged into the waiting call (the foundation's rule): it has no latency of its own.
    timed = [s for s in range(warmup, warmup + events) if s in started]
    merged = events - len(timed)
    if merged:
        print(f'subprocess: {merged} events were merged into a waiting call (machine busy)')
    latencies = [(started[s] - sent[s]) / 1e6 for s in timed]
    return {**_summary('subprocess', latencies), 'merged': merged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--events', type=int, default=1000)
    parser.add_argument('--warmup', type=int, default=50)
    parser.add_argument('--gap-ms', type=float, default=5.0)
    parser.add_argument('--mode', choices=['inprocess', 'subprocess', 'both'], default='both')
    parser.add_argument('--json', type=Path, help='also write the figures to this file')
    args = parser.parse_args()
    results = []
    if args.mode in ('inprocess', 'both'):
        results.append(in_process(args.events, args.warmup))
    if args.mode in ('subprocess', 'both'):
        results.append(in_subprocess(args.events, args.warmup, args.gap_ms))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + '\n')


if __name__ == '__main__':
    main()
