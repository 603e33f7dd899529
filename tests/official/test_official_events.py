"""The official ``apify`` SDK (4.x) at home gets the FakePlatform's events over its websocket.

The official Actor runs in a subprocess as a run of the fake platform; the test sends
``systemInfo`` and ``migrating`` frames and aborts the run gracefully through the API, and the
official listeners must see them as they would on the platform.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actorkit.client import ApifyClient
from actorkit.testing import FakePlatform

OfficialRunner = Callable[..., Any]

OFFICIAL_LISTENER = """
from apify import Actor, Event


async def main():
    seen = []
    aborted = asyncio.Event()

    def record(name):
        def listener(data):
            seen.append([name, data.model_dump(mode='json') if data is not None else None])
            if name == 'aborting':
                aborted.set()
        return listener

    async with Actor:
        for event in (Event.SYSTEM_INFO, Event.MIGRATING, Event.PERSIST_STATE, Event.ABORTING):
            Actor.on(event, record(event.value))
        await Actor.set_status_message('listening')
        await asyncio.wait_for(aborted.wait(), 60)
        await asyncio.sleep(0)
        emit(seen)


asyncio.run(main())
"""


def test_official_sdk_gets_system_info_migrating_and_aborting(
    run_official: OfficialRunner, platform: FakePlatform
) -> None:
    """systemInfo, migrating (with its persistState) and a graceful abort reach its listeners."""
    env = platform.run_env(memory_mbytes=4096)  # APIFY_DEDICATED_CPUS=1
    run_id = env['ACTOR_RUN_ID']
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(run_official, OFFICIAL_LISTENER, env=env)
        platform.wait_for_events_connection(run_id, timeout=60)
        # Its listeners are added after the connection opens; it says when they are.
        deadline = time.monotonic() + 60
        while platform.run(run_id).get('statusMessage') != 'listening':
            assert time.monotonic() < deadline, 'the official Actor never started listening'
            assert not future.done(), future.result()
            threading.Event().wait(0.05)
        platform.send_event(
            run_id,
            'systemInfo',
            {
                'cpuCurrentUsage': 50,
                'cpuAvgUsage': 40,
                'cpuMaxUsage': 60,
                'memCurrentBytes': 1000,
                'memAvgBytes': 900,
                'memMaxBytes': 2000,
                'isCpuOverloaded': False,
                'createdAt': '2026-01-02T03:04:05.000Z',
            },
        )
        platform.send_event(run_id, 'migrating', {'timeRemainingSecs': 30})
        ApifyClient(platform.token, api_url=platform.api_url).run(run_id).abort(gracefully=True)
        seen = future.result(timeout=120)
    assert {name for name, _ in seen} == {'systemInfo', 'migrating', 'persistState', 'aborting'}
    system_info = next(data for name, data in seen if name == 'systemInfo')
    assert system_info['cpu_info']['used_ratio'] == 0.5
    assert ['migrating', {'time_remaining': 30.0}] in seen
    assert ['persistState', {'is_migrating': True}] in seen
