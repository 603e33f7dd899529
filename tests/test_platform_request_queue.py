"""Request queues at home: head-and-lock, lock keeping, reclaim, release, many consumers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from actorkit import Configuration
from actorkit.client import ApifyClient
from actorkit.storages._platform import PlatformStorageBackend
from actorkit.storages._platform._request_queue import PROLONG_THREAD_NAME
from actorkit.storages._request_queue import RequestQueue
from actorkit.testing import FakePlatform
from tests._subprocess import TIMEOUT, start_script


@pytest.fixture
def open_queue(platform: FakePlatform) -> Iterator[Callable[..., RequestQueue]]:
    """Open the same named queue through new backends (one client each); close them after."""
    backends: list[PlatformStorageBackend] = []
    config = Configuration.from_env(platform.run_env())

    def open_(name: str = 'jobs', lock_secs: int = 60) -> RequestQueue:
        backend = PlatformStorageBackend(config, lock_secs=lock_secs)
        backends.append(backend)
        return RequestQueue(backend.open_request_queue(name=name))

    yield open_
    for backend in backends:
        backend.close()


def _urls(count: int) -> list[str]:
    return [f'https://example.com/{index}' for index in range(count)]


def _drain(queue: RequestQueue) -> list[str]:
    seen = []
    while (request := queue.fetch_next_request()) is not None:
        seen.append(request.url)
        queue.mark_request_as_handled(request)
    return seen


def test_requests_are_served_in_order_and_finish(open_queue: Callable[..., RequestQueue]) -> None:
    """Added requests come back in order (forefront first), once each, then the queue finishes."""
    queue = open_queue()
    added = queue.add_requests(_urls(30))
    assert [result.was_already_present for result in added] == [False] * 30
    queue.add_request('https://example.com/first', forefront=True)
    again = queue.add_request('https://example.com/3')
    assert again.was_already_present
    assert not again.was_already_handled
    assert not queue.is_empty()
    assert not queue.is_finished()
    assert _drain(queue) == ['https://example.com/first', *_urls(30)]
    assert queue.is_empty()
    assert queue.is_finished()
    assert (queue.get_handled_count(), queue.get_total_count()) == (31, 31)
    handled = queue.add_request('https://example.com/5')
    assert handled.was_already_present
    assert handled.was_already_handled


def test_full_requests_are_fetched_and_found_by_id_or_unique_key(
    open_queue: Callable[..., RequestQueue],
) -> None:
    """A fetched request has its user data and headers; get_request takes an id or a key."""
    queue = open_queue()
    queue.add_request(
        {'url': 'https://example.com/a', 'user_data': {'depth': 2}, 'headers': {'X-A': '1'}}
    )
    request = queue.fetch_next_request()
    assert request is not None
    assert request.user_data == {'depth': 2}
    assert request.headers == {'x-a': '1'}
    assert queue.get_request(request.id) == request
    assert queue.get_request(request.unique_key) == request
    assert queue.get_request('no-such-request') is None


def test_reclaim_deletes_the_lock_and_keeps_changes(
    open_queue: Callable[..., RequestQueue],
) -> None:
    """A reclaimed request is free at once for another consumer, with its updated fields."""
    mine, theirs = open_queue(), open_queue()
    mine.add_requests(_urls(2))
    request = mine.fetch_next_request()
    assert request is not None
    assert request.url == _urls(2)[0]
    assert theirs.fetch_next_request() is None  # mine locked both with its head
    request.retry_count += 1
    request.user_data['note'] = 'retry'
    mine.reclaim_request(request, forefront=True)
    again = theirs.fetch_next_request()
    assert again is not None
    assert again.url == request.url
    assert again.retry_count == 1
    assert again.user_data == {'note': 'retry'}


def test_two_clients_never_get_the_same_request(open_queue: Callable[..., RequestQueue]) -> None:
    """Consumers with their own client keys get distinct requests, together all of them."""
    producer = open_queue()
    producer.add_requests(_urls(60))
    consumers = [open_queue() for _ in range(3)]
    seen: list[list[str]] = [[] for _ in consumers]

    def consume(index: int) -> None:
        seen[index] = _drain(consumers[index])

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    every = [url for urls in seen for url in urls]
    assert sorted(every) == sorted(_urls(60))
    assert all(consumer.is_finished() for consumer in consumers)


def test_threads_sharing_one_client_get_distinct_requests(
    open_queue: Callable[..., RequestQueue],
) -> None:
    """Threads fetching through one client never get the same request twice."""
    queue = open_queue()
    queue.add_requests(_urls(40))
    seen: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        while (request := queue.fetch_next_request()) is not None:
            with lock:
                seen.append(request.url)
            queue.mark_request_as_handled(request)

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert sorted(seen) == sorted(_urls(40))


def test_locks_of_requests_in_progress_are_prolonged(
    platform: FakePlatform, open_queue: Callable[..., RequestQueue]
) -> None:
    """A request in progress longer than its lock is never served to another consumer."""
    slow, other = open_queue(lock_secs=2), open_queue(lock_secs=2)
    slow.add_request('https://example.com/slow')
    request = slow.fetch_next_request()
    assert request is not None
    assert any(t.name == PROLONG_THREAD_NAME for t in threading.enumerate())
    deadline = time.monotonic() + 3.0  # one and a half lock lengths
    while time.monotonic() < deadline:
        assert other.fetch_next_request() is None
        time.sleep(0.1)  # poll, not hammer
    prolongs = [r for r in platform.received if r.method == 'PUT' and r.path.endswith('/lock')]
    assert len(prolongs) >= 2
    slow.mark_request_as_handled(request)
    assert other.fetch_next_request() is None
    assert other.is_finished()


def test_closing_a_client_releases_what_it_holds(
    platform: FakePlatform, open_queue: Callable[..., RequestQueue]
) -> None:
    """close() stops the lock thread and deletes the locks: the requests are free at once."""
    config = Configuration.from_env(platform.run_env())
    backend = PlatformStorageBackend(config, lock_secs=600)
    holder = RequestQueue(backend.open_request_queue(name='jobs'))
    holder.add_requests(_urls(5))
    assert holder.fetch_next_request() is not None  # locks the head (5) for 10 minutes
    backend.close()
    assert not any(t.name == PROLONG_THREAD_NAME for t in threading.enumerate())
    assert sorted(_drain(open_queue())) == sorted(_urls(5))


def test_the_request_lock_of_another_client_is_respected(
    platform: FakePlatform, open_queue: Callable[..., RequestQueue]
) -> None:
    """A request locked by one client is neither fetched nor finished for another."""
    first, second = open_queue(), open_queue()
    first.add_request('https://example.com/only')
    request = first.fetch_next_request()
    assert request is not None
    assert second.fetch_next_request() is None
    assert second.is_empty()
    assert not second.is_finished()
    first.mark_request_as_handled(request)
    assert second.is_finished()


def test_api_errors_while_fetching_reach_the_caller(
    fast_backend: PlatformStorageBackend, platform: FakePlatform
) -> None:
    """A failing head-and-lock raises the API error after the client's retries."""
    from actorkit.client import ApifyApiError

    queue = RequestQueue(fast_backend.open_request_queue(name='jobs'))
    queue.add_request('https://example.com/x')
    platform.inject_faults(status=500, times=3, path='/head/lock')
    with pytest.raises(ApifyApiError) as caught:
        queue.fetch_next_request()
    assert caught.value.status_code == 500
    request = queue.fetch_next_request()
    assert request is not None
    assert request.url == 'https://example.com/x'


CONSUMER = r"""
import json, os, time
from actorkit import Actor, Configuration

actor = Actor(config=Configuration.from_env(), configure_logging=False, exit_process=False)
with actor:
    queue = actor.open_request_queue(name='shared')
    while not queue.is_finished():
        request = queue.fetch_next_request()
        if request is None:
            time.sleep(0.05)
            continue
        print(json.dumps({'pid': os.getpid(), 'url': request.url}), flush=True)
        if os.environ.get('HANG'):
            time.sleep(120)  # killed here, mid-request
        queue.mark_request_as_handled(request)
"""


def test_four_processes_share_a_queue_and_a_killed_ones_request_comes_back(
    platform: FakePlatform, tmp_path: Path
) -> None:
    """Every request is handled once, except the killed consumer's, served again later."""
    env = platform.run_env()
    env['ACTORKIT_REQUEST_QUEUE_LOCK_SECS'] = '2'
    backend = PlatformStorageBackend(Configuration.from_env(env))
    try:
        RequestQueue(backend.open_request_queue(name='shared')).add_requests(_urls(40))
    finally:
        backend.close()

    def start(index: int, extra: dict[str, str]) -> subprocess.Popen[str]:
        directory = tmp_path / f'consumer-{index}'
        directory.mkdir()
        return start_script(directory, CONSUMER, env={**env, **extra})

    victim = start(0, {'HANG': '1'})
    assert victim.stdout is not None
    first_line = victim.stdout.readline()
    assert first_line.startswith('{'), first_line + (victim.stderr.read() if victim.stderr else '')
    killed = json.loads(first_line)
    others = [start(index, {}) for index in (1, 2, 3)]
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    victim.wait(TIMEOUT)
    served = [killed]
    for process in others:
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, err
        served.extend(json.loads(line) for line in out.splitlines() if line.startswith('{'))
    urls = [entry['url'] for entry in served]
    assert sorted(set(urls)) == sorted(_urls(40))
    assert urls.count(killed['url']) == 2
    assert all(urls.count(url) == 1 for url in _urls(40) if url != killed['url'])
    again = next(entry for entry in served[1:] if entry['url'] == killed['url'])
    assert again['pid'] != victim.pid
    assert time.monotonic() - killed_at < TIMEOUT
    api = ApifyClient(platform.token, api_url=platform.api_url)
    queue = api.request_queues().get_or_create(name='shared')
    assert queue['handledRequestCount'] == 40


def test_subprocess_run_env_alone_is_enough(platform: FakePlatform, tmp_path: Path) -> None:
    """A script started with only the run environment uses the platform storages."""
    source = r"""
from actorkit import actor
with actor:
    actor.push_data([{'n': 1}, {'n': 2}])
    actor.set_value('OUTPUT', {'ok': True})
    queue = actor.open_request_queue()
    queue.add_request('https://example.com')
    request = queue.fetch_next_request()
    queue.mark_request_as_handled(request)
    print('finished' if queue.is_finished() else 'unfinished', actor.get_input())
"""
    env = platform.run_env(input={'hello': 'world'})
    directory = tmp_path / 'run'
    directory.mkdir()
    process = start_script(directory, source, env=env)
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert "finished {'hello': 'world'}" in out
    api = ApifyClient(platform.token, api_url=platform.api_url)
    assert list(api.dataset(env['ACTOR_DEFAULT_DATASET_ID']).iterate_items()) == [
        {'n': 1},
        {'n': 2},
    ]
    output = api.key_value_store(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']).get_record('OUTPUT')
    assert output is not None
    assert output['value'] == {'ok': True}
    assert not (directory / 'storage').exists()


def test_re_adding_known_requests_costs_no_call(
    platform: FakePlatform, open_queue: Callable[..., RequestQueue]
) -> None:
    """Requests this client already added are answered from its cache, not the API."""
    queue = open_queue()
    queue.add_requests(_urls(10))
    platform.clear_received()
    results = queue.add_requests(_urls(10))
    assert all(result.was_already_present for result in results)
    assert not [r for r in platform.received if '/requests' in r.path]


def test_unprocessed_requests_after_the_retries_are_an_error(
    platform: FakePlatform, open_queue: Callable[..., RequestQueue]
) -> None:
    """When the platform keeps leaving requests unprocessed, add_requests says how many."""
    from actorkit import StorageError

    queue = open_queue()
    platform.inject_unprocessed(count=2, times=4)
    with pytest.raises(StorageError, match='did not add 2 of 5 requests'):
        queue.add_requests(_urls(5))
    assert queue.get_total_count() == 3


def test_purge_empties_the_queue(open_queue: Callable[..., RequestQueue]) -> None:
    """purge() deletes every request and keeps the queue."""
    queue = open_queue()
    queue.add_requests(_urls(30))
    queue.purge()
    assert queue.get_total_count() == 0
    assert queue.fetch_next_request() is None
    assert queue.is_finished()


def test_close_gives_up_releasing_after_the_first_api_failure(
    platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    """When the API fails while locks are released at close, the rest are left to expire."""
    config = Configuration.from_env(platform.run_env())
    api = ApifyClient(
        str(config.token),
        api_url=config.api_base_url,
        max_retries=1,
        min_delay_between_retries=0.01,
    )
    backend = PlatformStorageBackend(config, api=api, lock_secs=600)
    queue = RequestQueue(backend.open_request_queue(name='jobs'))
    queue.add_requests(_urls(5))
    assert queue.fetch_next_request() is not None
    platform.clear_received()
    platform.inject_faults(status=503, times=10, path='/lock', method='DELETE')
    backend.close()
    assert len([r for r in platform.received if r.method == 'DELETE']) == 2  # one call, retried
    assert 'releasing the locks of 5 requests' in caplog.text


def _reads_by_id(platform: FakePlatform) -> list[str]:
    """The request ids read back one by one (``GET .../requests/{id}``) since the last clear."""
    return [
        r.path.rsplit('/', 1)[-1]
        for r in platform.received
        if r.method == 'GET' and '/requests/' in r.path
    ]


def test_a_lone_client_hands_out_what_it_added_without_reading_it_back(
    platform: FakePlatform, open_queue: Callable[..., RequestQueue]
) -> None:
    """The only client of a queue hands out its own requests in full from what it wrote."""
    queue = open_queue()
    queue.add_request(
        {
            'url': 'https://example.com/a',
            'method': 'POST',
            'payload': 'body',
            'user_data': {'depth': 2, 'tags': ['x', {'y': 1}]},
            'headers': {'X-A': '1'},
        }
    )
    queue.add_requests(_urls(3))
    platform.clear_received()
    request = queue.fetch_next_request()
    assert request is not None
    assert (request.url, request.method, request.payload) == (
        'https://example.com/a',
        'POST',
        'body',
    )
    assert request.user_data == {'depth': 2, 'tags': ['x', {'y': 1}]}
    assert request.headers == {'x-a': '1'}
    assert request == queue.get_request(request.id)
    platform.clear_received()
    queue.mark_request_as_handled(request)
    assert _drain(queue) == _urls(3)
    assert _reads_by_id(platform) == []
    assert queue.is_finished()


def test_a_reclaimed_request_comes_back_as_this_client_wrote_it(
    platform: FakePlatform, open_queue: Callable[..., RequestQueue]
) -> None:
    """After a reclaim, the lone client hands the request out with its changes, unread."""
    queue = open_queue()
    queue.add_request({'url': 'https://example.com/a', 'user_data': {'n': [1]}})
    request = queue.fetch_next_request()
    assert request is not None
    request.retry_count += 1
    request.user_data['n'].append(2)
    queue.reclaim_request(request)
    request.user_data['n'].append(3)  # after the reclaim: not what the platform has
    platform.clear_received()
    again = queue.fetch_next_request()
    assert again is not None
    assert (again.retry_count, again.user_data) == (1, {'n': [1, 2]})
    assert _reads_by_id(platform) == []


def test_a_request_another_client_changed_is_read_back(
    platform: FakePlatform, open_queue: Callable[..., RequestQueue]
) -> None:
    """Once the queue had another client, a request is read from the platform before use."""
    queue = open_queue()
    queue.add_request({'url': 'https://example.com/a', 'user_data': {'mine': True}})
    request_id = queue.get_request('https://example.com/a').id  # type: ignore[union-attr]
    config = Configuration.from_env(platform.run_env())
    other = ApifyClient(token=config.token, api_url=platform.api_url)
    queue_id = queue.id
    other_queue = other.request_queue(queue_id, client_key='someone-else')
    stored = other_queue.get_request(request_id)
    assert stored is not None
    other_queue.update_request({**stored, 'userData': {'theirs': True}})
    platform.clear_received()
    request = queue.fetch_next_request()
    assert request is not None
    assert request.user_data == {'theirs': True}
    assert _reads_by_id(platform) == [request_id]
