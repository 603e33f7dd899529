"""Every operation of the API client, end to end against a FakePlatform over real sockets."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from actorkit.client import ApifyClient, ListPage
from actorkit.testing import FakePlatform


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform(abort_grace_secs=0.2) as fake:
        yield fake


@pytest.fixture
def client(platform: FakePlatform) -> Iterator[ApifyClient]:
    with ApifyClient(
        platform.token, api_url=platform.api_url, min_delay_between_retries=0.001
    ) as made:
        yield made


def _calls(platform: FakePlatform, method: str, suffix: str) -> int:
    return sum(1 for r in platform.received if r.method == method and r.path.endswith(suffix))


# ---------------------------------------------------------------- datasets


def test_dataset_get_or_create_returns_the_same_named_dataset(client: ApifyClient) -> None:
    """get_or_create by name creates the dataset once and then finds it."""
    first = client.datasets().get_or_create(name='results')
    again = client.datasets().get_or_create('results')
    unnamed = client.datasets().get_or_create()
    assert first['id'] == again['id'] != unnamed['id']
    assert first['name'] == 'results'
    listed = client.datasets().list(unnamed=True)
    assert isinstance(listed, ListPage)
    assert {first['id'], unnamed['id']} <= {item['id'] for item in listed.items}
    assert [item['id'] for item in client.datasets().list().items] == [first['id']]


def test_dataset_get_update_delete(client: ApifyClient) -> None:
    """A dataset is read, renamed and deleted; get() of a missing one is None."""
    created = client.datasets().get_or_create(name='old')
    dataset = client.dataset(created['id'])
    assert dataset.get()['name'] == 'old'
    assert dataset.update(name='new')['name'] == 'new'
    assert client.dataset(f'{created["username"]}/new').get()['id'] == created['id']
    dataset.delete()
    assert dataset.get() is None
    dataset.delete()  # deleting twice is not an error


def test_push_items_takes_dicts_lists_and_serialized_json(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """push_items sends a dict, a list, or JSON text as str or bytes."""
    dataset_id = platform.create_dataset()
    dataset = client.dataset(dataset_id)
    dataset.push_items({'n': 1})
    dataset.push_items([{'n': 2}, {'n': 3, 'text': 'žluťoučký'}])
    dataset.push_items('[{"n": 4}]')
    dataset.push_items(b'{"n": 5}')
    assert platform.dataset_items(dataset_id) == [
        {'n': 1},
        {'n': 2},
        {'n': 3, 'text': 'žluťoučký'},
        {'n': 4},
        {'n': 5},
    ]


def test_push_items_refuses_values_that_are_not_json(client: ApifyClient) -> None:
    """An item that cannot be JSON is refused before anything is sent."""
    dataset = client.dataset('anything')
    with pytest.raises(TypeError, match='dataset items cannot be sent as JSON'):
        dataset.push_items({'when': object()})
    with pytest.raises(ValueError, match='cannot be sent as JSON'):
        dataset.push_items({'n': float('nan')})


def test_list_items_reads_the_pagination_headers(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """list_items returns a ListPage filled from the X-Apify-Pagination-* headers."""
    dataset_id = platform.create_dataset()
    dataset = client.dataset(dataset_id)
    dataset.push_items([{'n': n, 'secret': n, '#hidden': n} for n in range(10)])
    page = dataset.list_items(offset=2, limit=3)
    assert page == ListPage(
        items=[{'n': n, 'secret': n, '#hidden': n} for n in (2, 3, 4)],
        offset=2,
        limit=3,
        count=3,
        total=10,
        desc=False,
    )
    newest = dataset.list_items(limit=2, desc=True, fields=['n'])
    assert newest.items == [{'n': 9}, {'n': 8}]
    assert newest.desc is True
    assert dataset.list_items(limit=1, omit=['secret'], skip_hidden=True).items == [{'n': 0}]


def test_iterate_items_fetches_pages_lazily(client: ApifyClient, platform: FakePlatform) -> None:
    """iterate_items asks for a page only when the iteration reaches it."""
    dataset_id = platform.create_dataset()
    dataset = client.dataset(dataset_id)
    dataset.push_items([{'n': n} for n in range(7)])
    platform.clear_received()
    items = dataset.iterate_items(chunk_size=3)
    assert _calls(platform, 'GET', '/items') == 0
    assert next(items) == {'n': 0}
    assert _calls(platform, 'GET', '/items') == 1
    assert [item['n'] for item in items] == [1, 2, 3, 4, 5, 6]
    assert _calls(platform, 'GET', '/items') == 3
    assert [i['n'] for i in dataset.iterate_items(offset=2, limit=4, chunk_size=3)] == [2, 3, 4, 5]


# ---------------------------------------------------------------- key-value stores


def test_key_value_store_collection_and_metadata(client: ApifyClient) -> None:
    """Stores are got or created by name, listed, renamed and deleted."""
    store = client.key_value_stores().get_or_create(name='state')
    assert client.key_value_stores().get_or_create(name='state')['id'] == store['id']
    assert store['id'] in {item['id'] for item in client.key_value_stores().list().items}
    store_client = client.key_value_store(store['id'])
    assert store_client.update(name='state-2')['name'] == 'state-2'
    store_client.delete()
    assert store_client.get() is None


def test_set_record_picks_the_content_type_by_value(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """Bytes keep their content type, str is UTF-8 text, anything else is JSON."""
    store_id = platform.create_key_value_store()
    store = client.key_value_store(store_id)
    store.set_record('png', b'\x89PNG', content_type='image/png')
    store.set_record('raw', b'\x00\x01')
    store.set_record('text', 'ahoj světe')
    store.set_record('json', {'a': [1, 2]})
    store.set_record('csv', 'a,b\n1,2\n', content_type='text/csv')
    assert platform.record(store_id, 'png') == (b'\x89PNG', 'image/png')
    assert platform.record(store_id, 'raw') == (b'\x00\x01', 'application/octet-stream')
    assert platform.record(store_id, 'text') == (
        'ahoj světe'.encode(),
        'text/plain; charset=utf-8',
    )
    assert platform.record(store_id, 'json') == (
        b'{"a":[1,2]}',
        'application/json; charset=utf-8',
    )
    with pytest.raises(TypeError, match="cannot be stored as 'text/csv'"):
        store.set_record('bad', {'a': 1}, content_type='text/csv')


def test_get_record_decodes_by_content_type(client: ApifyClient, platform: FakePlatform) -> None:
    """get_record parses JSON, decodes text and keeps bytes, with the content type."""
    store_id = platform.create_key_value_store()
    platform.set_record(store_id, 'json', {'x': 1})
    platform.set_record(store_id, 'text', 'hello')
    platform.set_record(store_id, 'bin', b'\xff\x00', content_type='image/gif')
    store = client.key_value_store(store_id)
    assert store.get_record('json') == {
        'key': 'json',
        'value': {'x': 1},
        'content_type': 'application/json; charset=utf-8',
    }
    assert store.get_record('text')['value'] == 'hello'
    assert store.get_record('bin') == {
        'key': 'bin',
        'value': b'\xff\x00',
        'content_type': 'image/gif',
    }
    assert store.get_record_as_bytes('json')['value'] == json.dumps({'x': 1}).encode()
    assert store.get_record('missing') is None
    assert store.get_record_as_bytes('missing') is None
    platform.set_record(store_id, 'broken', b'{nope', content_type='application/json')
    with pytest.raises(ValueError, match='read it with get_record_as_bytes'):
        store.get_record('broken')
    assert store.get_record_as_bytes('broken')['value'] == b'{nope'


def test_record_exists_and_delete_record(client: ApifyClient, platform: FakePlatform) -> None:
    """record_exists tells with a HEAD call; delete_record removes the record."""
    store_id = platform.create_key_value_store()
    store = client.key_value_store(store_id)
    store.set_record("it's(ok)!", 'v')
    assert store.record_exists("it's(ok)!")
    assert platform.record(store_id, "it's(ok)!") is not None
    platform.clear_received()
    assert not store.record_exists('nope')
    assert platform.received[-1].method == 'HEAD'
    store.delete_record("it's(ok)!")
    assert not store.record_exists("it's(ok)!")


def test_list_keys_pages_with_exclusive_start_key(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """list_keys returns the API's page; iterate_keys follows nextExclusiveStartKey."""
    store_id = platform.create_key_value_store()
    store = client.key_value_store(store_id)
    for key in ('a1', 'a2', 'b1', 'b2', 'b3'):
        store.set_record(key, key)
    page = store.list_keys(limit=2)
    assert [item['key'] for item in page['items']] == ['a1', 'a2']
    assert page['isTruncated'] is True
    assert page['nextExclusiveStartKey'] == 'a2'
    rest = store.list_keys(exclusive_start_key='a2')
    assert [item['key'] for item in rest['items']] == ['b1', 'b2', 'b3']
    assert rest['isTruncated'] is False
    assert [item['key'] for item in store.list_keys(prefix='b')['items']] == ['b1', 'b2', 'b3']
    platform.clear_received()
    keys = [item['key'] for item in store.iterate_keys(chunk_size=2)]
    assert keys == ['a1', 'a2', 'b1', 'b2', 'b3']
    assert _calls(platform, 'GET', '/keys') == 3
    assert [item['key'] for item in store.iterate_keys(limit=3, chunk_size=2)] == [
        'a1',
        'a2',
        'b1',
    ]


def test_record_public_url_is_signed_and_downloads_without_a_token(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """get_record_public_url gives a signed URL that carries no token."""
    store_id = platform.create_key_value_store()
    client.key_value_store(store_id).set_record('out', {'done': True})
    url = client.key_value_store(store_id).get_record_public_url('out')
    assert url.startswith(f'{platform.api_url}/v2/key-value-stores/{store_id}/records/out')
    assert 'signature=' in url
    assert platform.token not in url


# ---------------------------------------------------------------- request queues


def _request(n: int) -> dict[str, object]:
    return {'url': f'https://example.com/{n}', 'uniqueKey': f'https://example.com/{n}'}


def test_request_queue_collection_and_metadata(client: ApifyClient) -> None:
    """Queues are got or created by name, listed, renamed and deleted."""
    queue = client.request_queues().get_or_create(name='q')
    assert client.request_queues().get_or_create(name='q')['id'] == queue['id']
    assert queue['id'] in {item['id'] for item in client.request_queues().list().items}
    queue_client = client.request_queue(queue['id'])
    assert queue_client.update(name='q2')['name'] == 'q2'
    queue_client.delete()
    assert queue_client.get() is None


def test_add_get_update_and_delete_a_request(client: ApifyClient, platform: FakePlatform) -> None:
    """A request is added, read, marked handled and deleted."""
    queue = client.request_queue(platform.create_request_queue(), client_key='me')
    added = queue.add_request(_request(1))
    assert added['wasAlreadyPresent'] is False
    assert queue.add_request(_request(1))['wasAlreadyPresent'] is True
    request = queue.get_request(added['requestId'])
    assert request['url'] == 'https://example.com/1'
    assert queue.get_request('nonexistent00000') is None
    updated = queue.update_request({**request, 'handledAt': '2026-01-01T00:00:00.000Z'})
    assert updated['wasAlreadyHandled'] is False
    assert queue.get_request(added['requestId'])['handledAt'] is not None
    with pytest.raises(ValueError, match='needs the request id'):
        queue.update_request(_request(2))
    queue.delete_request(added['requestId'])
    assert queue.get_request(added['requestId']) is None


def test_head_locks_prolong_and_release(client: ApifyClient, platform: FakePlatform) -> None:
    """The head is listed and locked; a lock is prolonged and released."""
    queue_id = platform.create_request_queue()
    queue = client.request_queue(queue_id, client_key='worker-1')
    first = queue.add_request(_request(1))['requestId']
    queue.add_request(_request(2))
    queue.add_request(_request(0), forefront=True)
    head = queue.list_head(limit=10)
    assert [item['url'] for item in head['items']] == [
        'https://example.com/0',
        'https://example.com/1',
        'https://example.com/2',
    ]
    locked = queue.list_and_lock_head(lock_secs=60, limit=2)
    assert len(locked['items']) == 2
    assert locked['lockSecs'] == 60
    assert [item['url'] for item in queue.list_head()['items']] == ['https://example.com/2']
    prolonged = queue.prolong_request_lock(first, lock_duration=timedelta(seconds=120))
    assert 'lockExpiresAt' in prolonged
    queue.delete_request_lock(first)
    assert 'https://example.com/1' in {item['url'] for item in queue.list_head()['items']}
    with pytest.raises(TypeError, match='needs lock_secs'):
        queue.list_and_lock_head()


def test_batch_add_requests_sends_chunks_of_25(client: ApifyClient, platform: FakePlatform) -> None:
    """batch_add_requests splits 60 requests into calls of at most 25."""
    queue_id = platform.create_request_queue()
    platform.clear_received()
    result = client.request_queue(queue_id).batch_add_requests([_request(n) for n in range(60)])
    assert len(result['processedRequests']) == 60
    assert result['unprocessedRequests'] == []
    sizes = [
        len(json.loads(detail.body or b'[]'))
        for detail in platform.received_details
        if detail.path.endswith('/requests/batch')
    ]
    assert sizes == [25, 25, 10]
    assert len(platform.queue_requests(queue_id)) == 60
    with pytest.raises(ValueError, match='max_parallel=4 is not supported'):
        client.request_queue(queue_id).batch_add_requests([_request(1)], max_parallel=4)


def test_batch_add_requests_retries_the_unprocessed_ones(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """Requests the API leaves unprocessed are sent again, and only those."""
    queue_id = platform.create_request_queue()
    platform.inject_unprocessed(count=3, times=2)
    platform.clear_received()
    result = client.request_queue(queue_id).batch_add_requests(
        [_request(n) for n in range(10)], min_delay_between_unprocessed_requests_retries=0.001
    )
    assert len(result['processedRequests']) == 10
    assert result['unprocessedRequests'] == []
    sizes = [
        len(json.loads(detail.body or b'[]'))
        for detail in platform.received_details
        if detail.path.endswith('/requests/batch')
    ]
    assert sizes == [10, 3, 3]
    assert len(platform.queue_requests(queue_id)) == 10


def test_batch_add_requests_reports_what_stays_unprocessed(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """After the last retry, the still unprocessed requests are returned as such."""
    queue_id = platform.create_request_queue()
    platform.inject_unprocessed(count=2, times=5)
    result = client.request_queue(queue_id).batch_add_requests(
        [_request(n) for n in range(5)],
        max_unprocessed_requests_retries=1,
        min_delay_between_unprocessed_requests_retries=0.001,
    )
    assert len(result['processedRequests']) == 3
    assert len(result['unprocessedRequests']) == 2


def test_batch_delete_and_list_requests(client: ApifyClient, platform: FakePlatform) -> None:
    """Requests are deleted in a batch by id or uniqueKey, and listed page by page."""
    queue = client.request_queue(platform.create_request_queue())
    ids = [queue.add_request(_request(n))['requestId'] for n in range(5)]
    listed = [item['id'] for item in queue.list_requests()['items']]
    assert sorted(listed) == sorted(ids)
    page = queue.list_requests(limit=2)
    assert [item['id'] for item in page['items']] == listed[:2]
    after = queue.list_requests(exclusive_start_id=listed[1])
    assert [item['id'] for item in after['items']] == listed[2:]
    deleted = queue.batch_delete_requests([{'id': ids[0]}, {'uniqueKey': 'https://example.com/1'}])
    assert len(deleted['processedRequests']) == 2
    assert sorted(item['id'] for item in queue.iterate_requests()) == sorted(ids[2:])


# ---------------------------------------------------------------- runs, Actors, tasks


def test_run_get_update_charge_and_default_storages(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """A run is read, its status message set, an event charged; its storages are reachable."""
    run_id = platform.start_run({'q': 1}, pricing_info={'result': 0.5})
    run = client.run(run_id)
    assert run.get()['status'] == 'RUNNING'
    assert client.run('missing-run-id').get() is None
    updated = run.update(status_message='half way', is_status_message_terminal=False)
    assert updated['statusMessage'] == 'half way'
    run.charge('result', count=3)
    assert [(c.event_name, c.count) for c in platform.charges(run_id)] == [('result', 3)]
    assert run.key_value_store().get_record('INPUT')['value'] == {'q': 1}
    run.dataset().push_items({'n': 1})
    assert run.dataset().list_items().items == [{'n': 1}]
    run.request_queue().add_request(_request(1))
    assert len(run.request_queue().list_head()['items']) == 1
    assert run_id in {item['id'] for item in client.runs().list().items}


def test_abort_reboot_and_resurrect(client: ApifyClient, platform: FakePlatform) -> None:
    """A run is rebooted, aborted, then resurrected."""
    run = client.run(platform.start_run())
    assert run.reboot()['status'] == 'RUNNING'
    assert run.abort()['status'] == 'ABORTED'
    resurrected = run.resurrect(memory_mbytes=2048, timeout_secs=300)
    assert resurrected['status'] == 'RUNNING'
    assert platform.run(resurrected['id'])['options']['memoryMbytes'] == 2048


def test_metamorph_stores_the_new_input(client: ApifyClient, platform: FakePlatform) -> None:
    """metamorph switches the Actor and stores the new input as INPUT-METAMORPH-1."""
    target = platform.create_actor('target')
    run_id = platform.start_run()
    run = client.run(run_id)
    result = run.metamorph(target, run_input={'next': True})
    assert result['actId'] == target
    store = platform.run(run_id)['defaultKeyValueStoreId']
    assert json.loads(platform.record(store, 'INPUT-METAMORPH-1')[0]) == {'next': True}


def test_wait_for_finish_waits_until_the_run_ends(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """wait_for_finish returns the run once it reached a terminal status."""
    release = threading.Event()
    actor_id = platform.create_actor('slow', handler=lambda env: 0 if release.wait(10) else 1)
    run = client.actor(actor_id).start()
    assert run['status'] == 'RUNNING'
    assert client.run(run['id']).wait_for_finish(wait_secs=0)['status'] == 'RUNNING'
    result: dict[str, object] = {}
    waiter = threading.Thread(
        target=lambda: result.update(client.run(run['id']).wait_for_finish() or {})
    )
    waiter.start()
    release.set()
    waiter.join(10)
    assert result['status'] == 'SUCCEEDED'


def test_wait_for_finish_gives_up_after_wait_secs(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """With wait_secs, a run still running is returned as it is once the time is up."""
    run_id = platform.start_run()
    platform.clear_received()
    started = time.monotonic()
    run = client.run(run_id).wait_for_finish(wait_secs=1)
    assert run['status'] == 'RUNNING'
    assert 1.0 <= time.monotonic() - started < 5
    polls = [r for r in platform.received if r.path.endswith(run_id)]
    assert 1 <= len(polls) <= 3
    assert polls[0].query['waitForFinish'] == '1'


def test_actor_start_and_call(client: ApifyClient, platform: FakePlatform) -> None:
    """start() passes the input and options; call() waits for the run's end."""
    actor_id = platform.create_actor('quick', handler=lambda env: 0)
    assert client.actor(actor_id).get()['name'] == 'quick'
    assert client.actor('nobody~nothing').get() is None
    run = client.actor(actor_id).start(
        run_input={'a': 1}, memory_mbytes=512, timeout_secs=60, build='latest'
    )
    assert run['options']['memoryMbytes'] == 512
    store = run['defaultKeyValueStoreId']
    assert json.loads(platform.record(store, 'INPUT')[0]) == {'a': 1}
    finished = client.actor(actor_id).call(run_input='plain text', wait_secs=10)
    assert finished['status'] == 'SUCCEEDED'
    assert platform.record(finished['defaultKeyValueStoreId'], 'INPUT') == (
        b'plain text',
        'text/plain; charset=utf-8',
    )


def test_actor_start_encodes_ad_hoc_webhooks(client: ApifyClient, platform: FakePlatform) -> None:
    """webhooks= is sent base64 JSON in camelCase, snake_case keys accepted."""
    actor_id = platform.create_actor('hooked')
    platform.clear_received()
    client.actor(actor_id).start(
        webhooks=[{'event_types': ['ACTOR.RUN.SUCCEEDED'], 'request_url': 'https://x.test/'}]
    )
    sent = next(r for r in platform.received if r.path.endswith('/runs'))
    assert json.loads(base64.b64decode(sent.query['webhooks'])) == [
        {'eventTypes': ['ACTOR.RUN.SUCCEEDED'], 'requestUrl': 'https://x.test/'}
    ]


def test_task_start_and_call(client: ApifyClient, platform: FakePlatform) -> None:
    """A task is called to its end with an input of its own."""
    actor_id = platform.create_actor('tasked', handler=lambda env: 0)
    task_id = platform.create_task(actor_id, 'my-task', input={'a': 1, 'b': 2})
    assert client.task(task_id).get()['name'] == 'my-task'
    run = client.task(task_id).call(task_input={'b': 3}, wait_secs=10)
    assert run['status'] == 'SUCCEEDED'
    assert json.loads(platform.record(run['defaultKeyValueStoreId'], 'INPUT')[0])['b'] == 3


# ---------------------------------------------------------------- webhooks, user


def test_webhooks_create_list_get_delete(client: ApifyClient, platform: FakePlatform) -> None:
    """A webhook is created (ad hoc for a run), listed, read and deleted."""
    run_id = platform.start_run()
    created = client.webhooks().create(
        event_types=['ACTOR.RUN.SUCCEEDED'],
        request_url='https://example.com/hook',
        actor_run_id=run_id,
        is_ad_hoc=True,
        idempotency_key='once',
        payload_template='{"runId": {{resource.id}}}',
    )
    assert created['condition'] == {'actorRunId': run_id}
    assert created['isAdHoc'] is True
    again = client.webhooks().create(
        ['ACTOR.RUN.SUCCEEDED'],
        'https://example.com/hook',
        actor_run_id=run_id,
        is_ad_hoc=True,
        idempotency_key='once',
    )
    assert again['id'] == created['id']
    assert created['id'] in {item['id'] for item in client.webhooks().list().items}
    assert client.webhook(created['id']).get()['requestUrl'] == 'https://example.com/hook'
    client.webhook(created['id']).delete()
    assert client.webhook(created['id']).get() is None


def test_user_me(client: ApifyClient, platform: FakePlatform) -> None:
    """user() is the token's owner."""
    me = client.user().get()
    assert me['id'] == platform.user_id
    assert me['username'] == platform.username
