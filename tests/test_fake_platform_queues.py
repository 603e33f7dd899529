"""FakePlatform request queues over real sockets: add, batch, head, locks, handled, listing."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from actorkit.testing import FakePlatform
from tests._fake_platform_spec import spec_checked_platform  # noqa: F401 (its ``platform``)


class Queue:
    """Calls on one queue of the platform, as one client (``clientKey``)."""

    def __init__(self, platform: FakePlatform, queue_id: str, client_key: str | None) -> None:
        self.session = requests.Session()
        self.session.headers['Authorization'] = f'Bearer {platform.token}'
        self.base = f'{platform.api_url}/v2/request-queues/{queue_id}'
        self.client_key = client_key

    def call(self, method: str, path: str = '', **params: Any) -> requests.Response:
        json_body = params.pop('json', None)
        if self.client_key is not None:
            params.setdefault('clientKey', self.client_key)
        return self.session.request(method, self.base + path, params=params, json=json_body)

    def data(self, method: str, path: str = '', **params: Any) -> Any:
        response = self.call(method, path, **params)
        assert response.ok, response.text
        return response.json()['data']


@pytest.fixture
def queue_id(platform: FakePlatform) -> str:
    """A fresh unnamed queue."""
    return platform.create_request_queue()


@pytest.fixture
def queue(platform: FakePlatform, queue_id: str) -> Iterator[Queue]:
    """Client 'one' of the queue."""
    client = Queue(platform, queue_id, 'one')
    yield client
    client.session.close()


def request(key: str, **extra: Any) -> dict[str, Any]:
    return {'url': f'https://example.com/{key}', 'uniqueKey': key, **extra}


def expected_id(unique_key: str) -> str:
    digest = base64.b64encode(hashlib.sha256(unique_key.encode()).digest()).decode()
    return digest.replace('+', '').replace('/', '').replace('=', '')[:15]


def test_request_ids_come_from_the_unique_key(queue: Queue) -> None:
    """The id is base64(sha256(uniqueKey)) without +/=, 15 characters; a repeat is present."""
    first = queue.call('POST', '/requests', json=request('https://a.com/?x=1'))
    assert first.status_code == 201
    added = first.json()['data']
    assert added == {
        'requestId': expected_id('https://a.com/?x=1'),
        'uniqueKey': 'https://a.com/?x=1',
        'wasAlreadyPresent': False,
        'wasAlreadyHandled': False,
    }
    again = queue.data('POST', '/requests', json=request('https://a.com/?x=1'))
    assert again['wasAlreadyPresent'] is True
    stored = queue.data('GET', f'/requests/{added["requestId"]}')
    assert stored['id'] == added['requestId']
    assert stored['url'] == 'https://example.com/https://a.com/?x=1'
    assert stored['handledAt'] is None
    # Fields the request was added without read back with their defaults (the official SDK
    # cannot read a request without headers).
    assert stored['headers'] == {}
    assert stored['userData'] == {}
    assert stored['method'] == 'GET'


def test_add_refuses_a_request_without_url_or_unique_key(queue: Queue) -> None:
    """uniqueKey and url are required: 400 invalid-input."""
    response = queue.call('POST', '/requests', json={'url': 'https://a.com'})
    assert response.status_code == 400
    assert 'uniqueKey' in response.json()['error']['message']


def test_head_follows_forefront_order(queue: Queue) -> None:
    """Forefront requests come first (newest first), then the rest in order."""
    for key in ('a', 'b'):
        queue.call('POST', '/requests', json=request(key))
    queue.call('POST', '/requests', json=request('front-1'), forefront='true')
    queue.call('POST', '/requests', json=request('front-2'), forefront='true')
    head = queue.data('GET', '/head', limit=10)
    assert [item['uniqueKey'] for item in head['items']] == ['front-2', 'front-1', 'a', 'b']
    assert set(head) >= {'limit', 'queueModifiedAt', 'hadMultipleClients', 'items'}
    assert head['hadMultipleClients'] is False


def test_batch_add_takes_at_most_25(queue: Queue) -> None:
    """A batch answers processedRequests/unprocessedRequests; over 25 is refused."""
    batch = [request(f'r{n}') for n in range(25)] + [request('r0')]
    refused = queue.call('POST', '/requests/batch', json=batch)
    assert refused.status_code == 400
    result = queue.call('POST', '/requests/batch', json=batch[:25])
    assert result.status_code == 201
    data = result.json()['data']
    assert len(data['processedRequests']) == 25
    assert data['unprocessedRequests'] == []
    again = queue.data('POST', '/requests/batch', json=batch[:2])
    assert [item['wasAlreadyPresent'] for item in again['processedRequests']] == [True, True]


def test_injected_unprocessed_requests(platform: FakePlatform, queue: Queue) -> None:
    """inject_unprocessed leaves the last requests of the next batch out of the queue."""
    platform.inject_unprocessed(count=2)
    data = queue.data('POST', '/requests/batch', json=[request(f'u{n}') for n in range(5)])
    assert len(data['processedRequests']) == 3
    assert data['unprocessedRequests'] == [
        {'uniqueKey': 'u3', 'url': 'https://example.com/u3', 'method': 'GET'},
        {'uniqueKey': 'u4', 'url': 'https://example.com/u4', 'method': 'GET'},
    ]
    assert (
        len(queue.data('POST', '/requests/batch', json=[request('u3')])['processedRequests']) == 1
    )


def test_locked_requests_leave_the_head_until_the_lock_expires(
    platform: FakePlatform, queue: Queue, queue_id: str
) -> None:
    """head/lock hands requests out once; after expiry a dead consumer's requests return."""
    for key in ('a', 'b', 'c'):
        queue.call('POST', '/requests', json=request(key))
    locked = queue.call('POST', '/head/lock', lockSecs=60, limit=2)
    assert locked.status_code == 201
    data = locked.json()['data']
    assert [item['uniqueKey'] for item in data['items']] == ['a', 'b']
    assert data['lockSecs'] == 60
    assert all('lockExpiresAt' in item for item in data['items'])
    assert data['queueHasLockedRequests'] is True
    other = Queue(platform, queue_id, 'two')
    second = other.data('POST', '/head/lock', lockSecs=60, limit=25)
    assert [item['uniqueKey'] for item in second['items']] == ['c']
    assert second['hadMultipleClients'] is True
    assert other.data('POST', '/head/lock', lockSecs=60)['items'] == []
    assert platform.expire_locks(queue_id) == 3
    back = other.data('POST', '/head/lock', lockSecs=60)
    assert [item['uniqueKey'] for item in back['items']] == ['a', 'b', 'c']
    other.session.close()


def test_head_lock_needs_lock_secs_and_caps_the_limit(queue: Queue) -> None:
    """lockSecs is required and limit is at most 25."""
    assert queue.call('POST', '/head/lock').status_code == 400
    assert queue.call('POST', '/head/lock', lockSecs=10, limit=26).status_code == 400


def test_lock_belongs_to_its_client(platform: FakePlatform, queue: Queue, queue_id: str) -> None:
    """Only the client holding a lock may prolong or delete it; deleting returns it."""
    queue.call('POST', '/requests', json=request('a'))
    first = queue.data('POST', '/head/lock', lockSecs=60)['items'][0]
    request_id = first['id']
    other = Queue(platform, queue_id, 'two')
    refused = other.call('PUT', f'/requests/{request_id}/lock', lockSecs=30)
    assert refused.status_code == 403
    assert other.call('DELETE', f'/requests/{request_id}/lock').status_code == 403
    prolonged = queue.data('PUT', f'/requests/{request_id}/lock', lockSecs=120)
    assert prolonged['lockExpiresAt'] > first['lockExpiresAt']
    assert queue.data('GET', '/head')['items'] == []
    assert queue.call('DELETE', f'/requests/{request_id}/lock').status_code == 204
    assert [item['id'] for item in queue.data('GET', '/head')['items']] == [request_id]
    other.session.close()


def test_unlock_releases_a_clients_locks(queue: Queue) -> None:
    """requests/unlock frees every lock of the calling client."""
    for key in ('a', 'b'):
        queue.call('POST', '/requests', json=request(key))
    queue.data('POST', '/head/lock', lockSecs=60)
    assert queue.data('POST', '/requests/unlock') == {'unlockedCount': 2}
    assert len(queue.data('GET', '/head')['items']) == 2


def test_handled_at_marks_a_request_handled(
    platform: FakePlatform, queue: Queue, queue_id: str
) -> None:
    """PUT with handledAt marks it handled: out of the head, counted as handled."""
    for key in ('a', 'b'):
        queue.call('POST', '/requests', json=request(key))
    item = queue.data('POST', '/head/lock', lockSecs=60, limit=1)['items'][0]
    stored = queue.data('GET', f'/requests/{item["id"]}')
    stored['handledAt'] = '2024-01-01T00:00:00.000Z'
    updated = queue.data('PUT', f'/requests/{item["id"]}', json=stored)
    assert updated['wasAlreadyHandled'] is False
    info = requests.get(
        f'{platform.api_url}/v2/request-queues/{queue_id}', params={'token': platform.token}
    ).json()['data']
    assert (
        info['totalRequestCount'],
        info['handledRequestCount'],
        info['pendingRequestCount'],
    ) == (
        2,
        1,
        1,
    )
    assert [i['uniqueKey'] for i in queue.data('GET', '/head')['items']] == ['b']
    again = queue.data('POST', '/requests', json=request('a'))
    assert again['wasAlreadyHandled'] is True
    mismatched = queue.call('PUT', f'/requests/{item["id"]}', json=request('zzz'))
    assert mismatched.status_code == 400


def test_delete_and_batch_delete(platform: FakePlatform, queue: Queue, queue_id: str) -> None:
    """DELETE removes one request; batch delete takes ids or unique keys."""
    for key in ('a', 'b', 'c'):
        queue.call('POST', '/requests', json=request(key))
    assert queue.call('DELETE', f'/requests/{expected_id("a")}').status_code == 204
    assert queue.call('GET', f'/requests/{expected_id("a")}').status_code == 404
    deleted = queue.call(
        'DELETE', '/requests/batch', json=[{'uniqueKey': 'b'}, {'id': expected_id('c')}]
    )
    assert deleted.status_code == 200
    assert deleted.json()['data']['processedRequests'] == [
        {'id': expected_id('b'), 'uniqueKey': 'b'},
        {'id': expected_id('c'), 'uniqueKey': 'c'},
    ]
    assert platform.queue_requests(queue_id) == []


def test_list_requests_pages_with_cursor_and_filter(queue: Queue) -> None:
    """Listing pages by id with exclusiveStartId or nextCursor; filter=locked narrows."""
    keys = [f'k{n}' for n in range(7)]
    queue.data('POST', '/requests/batch', json=[request(key) for key in keys])
    first = queue.data('GET', '/requests', limit=3)
    assert len(first['items']) == 3
    seen = [item['id'] for item in first['items']]
    cursor = first['nextCursor']
    while cursor:
        page = queue.data('GET', '/requests', limit=3, cursor=cursor)
        seen += [item['id'] for item in page['items']]
        cursor = page['nextCursor']
    assert seen == sorted(expected_id(key) for key in keys)
    after = queue.data('GET', '/requests', exclusiveStartId=seen[4])
    assert [item['id'] for item in after['items']] == seen[5:]
    queue.data('POST', '/head/lock', lockSecs=60, limit=2)
    assert len(queue.data('GET', '/requests', filter='locked')['items']) == 2
    assert queue.call('GET', '/requests', filter='bogus').status_code == 400


def test_anonymous_calls_count_as_new_clients(platform: FakePlatform, queue_id: str) -> None:
    """Without clientKey every call is a new client, so hadMultipleClients turns true."""
    anonymous = Queue(platform, queue_id, None)
    anonymous.call('POST', '/requests', json=request('a'))
    anonymous.call('POST', '/requests', json=request('b'))
    assert anonymous.data('GET', '')['hadMultipleClients'] is True
    anonymous.session.close()


def test_queue_through_the_run(platform: FakePlatform) -> None:
    """/v2/actor-runs/{id}/request-queue/... reaches the run's default queue."""
    env = platform.run_env()
    base = f'{platform.api_url}/v2/actor-runs/{env["ACTOR_RUN_ID"]}/request-queue'
    params = {'token': platform.token}
    added = requests.post(base + '/requests', params=params, json=request('a'))
    assert added.status_code == 201
    assert [
        r['uniqueKey'] for r in platform.queue_requests(env['ACTOR_DEFAULT_REQUEST_QUEUE_ID'])
    ] == ['a']
    head = requests.get(base + '/head', params=params).json()['data']
    assert [item['uniqueKey'] for item in head['items']] == ['a']


def test_counts_size_and_head_follow_every_change(
    platform: FakePlatform, queue: Queue, queue_id: str
) -> None:
    """Counts, storageBytes, the head and queueHasLockedRequests track adds, moves and marks."""

    def info() -> Any:
        return requests.get(
            f'{platform.api_url}/v2/request-queues/{queue_id}', params={'token': platform.token}
        ).json()['data']

    def head() -> list[str]:
        return [item['uniqueKey'] for item in queue.data('GET', '/head', limit=10)['items']]

    queue.data('POST', '/requests/batch', json=[request(key) for key in 'abcd'])
    assert info()['stats']['storageBytes'] > 0
    size = info()['stats']['storageBytes']
    locked = queue.data('POST', '/head/lock', lockSecs=60, limit=2)
    assert [item['uniqueKey'] for item in locked['items']] == ['a', 'b']
    assert locked['queueHasLockedRequests'] is True
    assert head() == ['c', 'd']
    queue.call('DELETE', f'/requests/{expected_id("b")}/lock', forefront='true')
    assert head() == ['b', 'c', 'd']
    stored = queue.data('GET', f'/requests/{expected_id("a")}')
    queue.data(
        'PUT',
        f'/requests/{expected_id("a")}',
        json={**stored, 'handledAt': '2024-01-01T00:00:00.000Z'},
    )
    assert (info()['handledRequestCount'], info()['pendingRequestCount']) == (1, 3)
    assert info()['stats']['storageBytes'] > size
    later = queue.data('POST', '/head/lock', lockSecs=60, limit=1)
    assert later['queueHasLockedRequests'] is True  # b, locked just now
    queue.data('PUT', f'/requests/{expected_id("a")}', json={**stored, 'userData': {'x': 1}})
    assert (info()['handledRequestCount'], info()['pendingRequestCount']) == (0, 4)
    assert head() == ['c', 'd', 'a']
    queue.call('DELETE', '/requests/batch', json=[{'uniqueKey': 'c'}])
    queue.call('DELETE', f'/requests/{expected_id("b")}')
    assert head() == ['d', 'a']
    assert (info()['totalRequestCount'], info()['pendingRequestCount']) == (2, 2)
    assert queue.data('POST', '/head/lock', lockSecs=60)['queueHasLockedRequests'] is True
    assert queue.data('POST', '/requests/unlock')['unlockedCount'] == 2
    assert head() == ['d', 'a']
    assert queue.data('POST', '/head/lock', lockSecs=60, limit=1)['items'][0]['uniqueKey'] == 'd'
