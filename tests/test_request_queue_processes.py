"""The local request queue shared by several processes, and killed processes (kill -9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from _subprocess import TIMEOUT, describe, run_script, script_env, wait_for_line, write_script

from actorkit.storages._local._request_queue import JOURNAL_FILE
from actorkit.storages._request_queue import RequestQueue
from tests._queues import queue_client

pytestmark = pytest.mark.skipif(sys.platform == 'win32', reason='uses POSIX signals')

QUEUE_ID = 'Pr0c3ssQu3u3Id000'

# Opens the queue folder given as the first argument; defines `queue`.
PRELUDE = """
import os, sys, threading, time
from pathlib import Path
from actorkit.storages._request_queue import RequestQueue
from tests._queues import queue_client

directory = Path(sys.argv[1])
queue = RequestQueue(queue_client(directory))
"""

# argv: queue folder, log folder, consumer name, thread count. Each thread fetches requests;
# the first time it sees one it reclaims it (retry_count + 1), the second time handles it.
# It logs "<start> <end> <unique key>" for each time it held a request, in its own file.
CONSUMER = (
    PRELUDE
    + """
log_dir, name, thread_count = Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
idle = threading.Event()

def consume(index):
    with open(log_dir / f'{name}-{index}.log', 'w', encoding='utf-8') as log:
        while True:
            request = queue.fetch_next_request()
            if request is None:
                if queue.is_finished():
                    return
                idle.wait(0.002)  # back off while others hold the last requests
                continue
            start = time.monotonic()
            retry = request.retry_count == 0
            end = time.monotonic()
            log.write(f'{start!r} {end!r} {request.unique_key}\\n')
            if retry:
                request.retry_count += 1
                queue.reclaim_request(request)
            else:
                queue.mark_request_as_handled(request)

threads = [threading.Thread(target=consume, args=(i,)) for i in range(thread_count)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print('DONE', flush=True)
"""
)

# Fetches and handles requests, printing each handled key; with "hold" it fetches one more
# request, prints it and waits (to be killed while the request is in progress).
WORKER = (
    PRELUDE
    + """
handle_count, hold = int(sys.argv[2]), sys.argv[3] == 'hold'
for _ in range(handle_count):
    request = queue.fetch_next_request()
    if request is None:
        break
    queue.mark_request_as_handled(request)
    print('HANDLED', request.unique_key, flush=True)
if hold:
    request = queue.fetch_next_request()
    print('HOLDING', request.unique_key, flush=True)
    sys.stdin.readline()
print('DONE', flush=True)
"""
)


def make_queue(tmp_path: Path, count: int) -> tuple[Path, list[str]]:
    """Create a queue folder with its metadata and ``count`` requests; return folder and keys."""
    directory = tmp_path / 'storage' / 'request_queues' / 'default'
    directory.mkdir(parents=True)
    metadata = {
        'id': QUEUE_ID,
        'name': None,
        'accessed_at': '2026-01-01 00:00:00+00:00',
        'created_at': '2026-01-01 00:00:00+00:00',
        'modified_at': '2026-01-01 00:00:00+00:00',
        'had_multiple_clients': False,
        'handled_request_count': 0,
        'pending_request_count': 0,
        'total_request_count': 0,
    }
    (directory / '__metadata__.json').write_text(json.dumps(metadata, indent=2), encoding='utf-8')
    keys = [f'https://example.com/page/{i}' for i in range(count)]
    client = queue_client(directory)
    RequestQueue(client).add_requests(keys)
    client.close()
    return directory, keys


def open_queue(directory: Path) -> RequestQueue:
    return RequestQueue(queue_client(directory))


def start(tmp_path: Path, script: Path, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        cwd=tmp_path,
        env=script_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    """Wait for a script, fail the test with its stderr if it failed; return its stdout."""
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, f'exit code {process.returncode}\n{stderr}'
    return stdout


def kill(process: subprocess.Popen[str]) -> None:
    """kill -9 the script and reap it."""
    process.kill()
    process.communicate(timeout=TIMEOUT)


def stored_requests(directory: Path) -> dict[str, dict[str, object]]:
    files = [path for path in directory.glob('*.json') if path.name != '__metadata__.json']
    contents = [json.loads(path.read_text(encoding='utf-8')) for path in files]
    return {content['unique_key']: content for content in contents}


def test_consumers_in_four_processes_share_a_queue_safely(tmp_path: Path) -> None:
    """4 processes x 4 threads: no request is ever held by two consumers; each is handled once."""
    directory, keys = make_queue(tmp_path, 240)
    log_dir = tmp_path / 'logs'
    log_dir.mkdir()
    script = write_script(tmp_path, CONSUMER, 'consumer.py')
    processes = [start(tmp_path, script, directory, log_dir, f'p{i}', 4) for i in range(4)]
    for process in processes:
        assert finish(process).strip() == 'DONE'

    holds: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for log in log_dir.iterdir():
        for line in log.read_text(encoding='utf-8').splitlines():
            start_text, end_text, key = line.split(' ', 2)
            holds[key].append((float(start_text), float(end_text)))
    assert set(holds) == set(keys)
    # Each request is fetched twice (reclaimed once, then handled), never by two at once.
    assert Counter(len(periods) for periods in holds.values()) == {2: len(keys)}
    for key, periods in holds.items():
        first, second = sorted(periods)
        assert first[1] < second[0], f'{key} was held by two consumers at once: {periods}'

    stored = stored_requests(directory)
    assert all(content['handled_at'] is not None for content in stored.values())
    assert all(content['retry_count'] == 1 for content in stored.values())
    metadata = json.loads((directory / '__metadata__.json').read_text(encoding='utf-8'))
    assert metadata['handled_request_count'] == len(keys)
    assert metadata['pending_request_count'] == 0
    assert metadata['had_multiple_clients'] is True


def test_a_request_held_by_a_killed_process_is_served_again(tmp_path: Path) -> None:
    """kill -9 during processing: the held request returns, the handled one stays handled."""
    directory, keys = make_queue(tmp_path, 3)
    script = write_script(tmp_path, WORKER, 'worker.py')
    worker = start(tmp_path, script, directory, 1, 'hold')
    handled_lines = wait_for_line(worker, f'HOLDING {keys[1]}')
    assert handled_lines == [f'HANDLED {keys[0]}\n']
    handled_file = directory / f'{_file_stem(keys[0])}.json'
    handled_before = handled_file.read_bytes()

    here = open_queue(directory)
    other = here.fetch_next_request()  # the worker is alive: its request is not served
    assert other is not None
    assert other.unique_key == keys[2]
    assert here.fetch_next_request() is None
    here.reclaim_request(other)

    kill(worker)
    successor = start(tmp_path, script, directory, 10, 'no')
    output = finish(successor).splitlines()
    assert output == [f'HANDLED {keys[1]}', f'HANDLED {keys[2]}', 'DONE']
    assert handled_file.read_bytes() == handled_before
    assert here.is_finished()
    assert here.get_handled_count() == 3


NOTEBOOK = """
import sys
from actorkit import Actor

actor = Actor(exit_process=False)
actor.init()
queue = actor.open_request_queue()
queue.add_requests(['https://example.com/1', 'https://example.com/2', 'https://example.com/3'])
request = queue.fetch_next_request()
print('HOLDING', request.unique_key, flush=True)
sys.stdin.readline()
actor.exit()
print('EXITED', flush=True)
sys.stdin.readline()  # the process lives on, like a notebook kernel or a web worker
print('DONE', flush=True)
"""


def test_exiting_in_a_living_process_releases_its_requests_at_once(tmp_path: Path) -> None:
    """actor.exit() frees the requests its queue held for other processes, in their place."""
    script = write_script(tmp_path, NOTEBOOK, 'notebook.py')
    notebook = start(tmp_path, script)
    assert notebook.stdin is not None
    try:
        wait_for_line(notebook, 'HOLDING https://example.com/1')
        here = open_queue(tmp_path / 'storage' / 'request_queues' / 'default')
        taken = [here.fetch_next_request(), here.fetch_next_request()]
        assert [request.unique_key for request in taken if request] == [
            'https://example.com/2',
            'https://example.com/3',
        ]
        assert here.fetch_next_request() is None  # /1 is held by the living notebook
        notebook.stdin.write('\n')
        notebook.stdin.flush()
        wait_for_line(notebook, 'EXITED')
        released = here.fetch_next_request()
        assert released is not None
        assert released.unique_key == 'https://example.com/1'
        assert notebook.poll() is None  # released while the process is still alive
        notebook.stdin.write('\n')
        notebook.stdin.flush()
        assert finish(notebook).strip() == 'DONE'
    finally:
        if notebook.poll() is None:
            kill(notebook)


def _file_stem(unique_key: str) -> str:
    import hashlib

    return hashlib.sha256(unique_key.encode()).hexdigest()[:15]


def test_kills_at_random_moments_lose_no_handled_state(tmp_path: Path) -> None:
    """Workers killed mid-run leave a consistent queue: handled stays handled, nothing is lost."""
    directory, keys = make_queue(tmp_path, 150)
    script = write_script(tmp_path, WORKER, 'worker.py')
    confirmed: list[str] = []
    for stop_after in (7, 13, 29):
        worker = start(tmp_path, script, directory, 1000, 'no')
        assert worker.stdout is not None
        for _ in range(stop_after):
            line = worker.stdout.readline()
            assert line.startswith('HANDLED '), line
            confirmed.append(line.split(' ', 1)[1].strip())
        kill(worker)  # it keeps working while we read: the kill lands anywhere

    queue = open_queue(directory)
    served_after: list[str] = []
    while (request := queue.fetch_next_request()) is not None:
        served_after.append(request.unique_key)
        queue.mark_request_as_handled(request)
    assert not set(confirmed) & set(served_after)
    assert len(confirmed) == len(set(confirmed))
    assert queue.is_finished()
    assert (queue.get_handled_count(), queue.get_total_count()) == (len(keys), len(keys))
    stored = stored_requests(directory)
    assert set(stored) == set(keys)
    assert all(content['handled_at'] is not None for content in stored.values())
    for journal_line in (directory / JOURNAL_FILE).read_bytes().splitlines():
        json.loads(journal_line)
    assert not [name for name in os.listdir(directory) if name.startswith('.actorkit-tmp-')]


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
def test_a_forked_child_does_not_own_its_parents_requests(tmp_path: Path) -> None:
    """After fork, the child is a new consumer: it neither gets nor handles the parent's request."""
    directory, keys = make_queue(tmp_path, 3)
    script = f"""
import os, sys
sys.argv = ['x', {str(directory)!r}]
{PRELUDE}
held = queue.fetch_next_request()
pid = os.fork()
if pid == 0:
    other = queue.fetch_next_request()
    ok = other is not None and other.unique_key != held.unique_key
    ok = ok and queue.mark_request_as_handled(other) is not None
    ok = ok and queue.mark_request_as_handled(held) is None
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
print('child', os.waitstatus_to_exitcode(status))
print('next', queue.fetch_next_request().unique_key)
queue.mark_request_as_handled(held)
print('handled', queue.get_handled_count())
"""
    result = run_script(tmp_path, script)
    assert result.returncode == 0, describe(result)
    assert result.stdout.splitlines() == ['child 0', f'next {keys[2]}', 'handled 2']
