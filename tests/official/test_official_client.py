"""The official ``apify-client`` (3.x, sync) against ``actorkit.testing.FakePlatform``.

The official client validates every answer with strict pydantic models, so these tests pin that
the fake platform's objects, status codes and headers are the real API's for every endpoint
actorkit uses: a test passing here means code written against the official client runs
against the fake platform unchanged.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from apify_client import ApifyClient
from apify_client.errors import ApifyApiError

from actorkit.testing import FakePlatform

DEADLINE = 30.0
"""Seconds a helper thread waits for the client before giving up (a bound on hangs)."""


@pytest.fixture
def platform() -> Iterator[FakePlatform]:
    with FakePlatform(abort_grace_secs=0.2) as fake:
        yield fake


@pytest.fixture
def client(platform: FakePlatform) -> ApifyClient:
    return ApifyClient(
        platform.token,
        api_url=platform.api_url,
        api_public_url=platform.api_url,
        max_retries=2,
        min_delay_between_retries=timedelta(milliseconds=10),
    )


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f'timed out waiting for {what}')


def finish_when_started(
    platform: FakePlatform, known: set[str], status: str = 'SUCCEEDED'
) -> tuple[threading.Thread, list[str]]:
    """Start a thread that finishes the first new run once it is started (as its process would)."""
    finished: list[str] = []

    def finish() -> None:
        def new_run() -> str | None:
            fresh = [run['id'] for run in platform.runs() if run['id'] not in known]
            return fresh[0] if fresh else None

        run_id = wait_until(new_run, 'the client to start a run')
        platform.finish_run(run_id, status, status_message='Finished by the test')
        finished.append(run_id)

    thread = threading.Thread(target=finish, name='test-finish-run', daemon=True)
    thread.start()
    return thread, finished


# --------------------------------------------------------------------------------- datasets


def test_dataset_endpoints(client: ApifyClient, platform: FakePlatform) -> None:
    """Get-or-create, get, update, push (dict, list, JSON text), list and iterate, delete."""
    created = client.datasets().get_or_create(name='results')
    assert created.name == 'results'
    assert client.datasets().get_or_create(name='results').id == created.id
    unnamed = client.datasets().get_or_create()
    assert unnamed.name is None
    assert unnamed.id != created.id
    listed = {item.id for item in client.datasets().list().items}
    assert created.id in listed
    assert unnamed.id not in listed  # unnamed ones only with unnamed=True

    dataset = client.dataset(created.id)
    dataset.push_items({'n': 0, 'title': 'Zoë'})
    dataset.push_items([{'n': n, '#hidden': n, 'empty': None} for n in range(1, 5)])
    dataset.push_items(json.dumps([{'n': 5}, {}]))
    assert platform.dataset_items(created.id)[0] == {'n': 0, 'title': 'Zoë'}
    info = dataset.get()
    assert info is not None
    assert (info.id, info.name, info.item_count) == (created.id, 'results', 7)

    page = dataset.list_items(offset=1, limit=2)
    assert page.items == [
        {'n': 1, '#hidden': 1, 'empty': None},
        {'n': 2, '#hidden': 2, 'empty': None},
    ]
    assert (page.offset, page.limit, page.count, page.total, page.desc) == (1, 2, 2, 7, False)
    backwards = dataset.list_items(desc=True, limit=2)
    assert [item.get('n') for item in backwards.items] == [None, 5]
    assert backwards.desc is True
    assert dataset.list_items(fields=['n'], limit=2).items == [{'n': 0}, {'n': 1}]
    assert dataset.list_items(omit=['#hidden', 'empty'], offset=1, limit=1).items == [{'n': 1}]
    clean = dataset.list_items(clean=True).items
    assert {} not in clean
    assert all('#hidden' not in item for item in clean)
    assert [item.get('n') for item in dataset.iterate_items(chunk_size=2)] == [
        0,
        1,
        2,
        3,
        4,
        5,
        None,
    ]
    assert [item['n'] for item in dataset.iterate_items(offset=2, limit=3)] == [2, 3, 4]

    renamed = dataset.update(name='renamed')
    assert renamed.name == 'renamed'
    dataset.delete()
    assert dataset.get() is None
    with pytest.raises(ApifyApiError) as caught:
        dataset.list_items()
    assert caught.value.status_code == 404


# ----------------------------------------------------------------------- key-value stores


def test_key_value_store_endpoints(client: ApifyClient, platform: FakePlatform) -> None:
    """Records of every kind round-trip with their content types; keys list by pages."""
    created = client.key_value_stores().get_or_create(name='records')
    assert client.key_value_stores().get_or_create(name='records').id == created.id
    assert created.id in {item.id for item in client.key_value_stores().list().items}
    store = client.key_value_store(created.id)
    store.set_record('a-json', {'ok': True, 'list': [1, 2], 'text': 'Zoë'})
    store.set_record('b-text', 'plain ünï')
    store.set_record('c-bytes', b'\x00\xff')
    store.set_record('d-html', '<p>hi</p>', content_type='text/html; charset=utf-8')
    store.set_record('e-list', [1, 'two'])

    assert store.get_record('a-json') == {
        'key': 'a-json',
        'value': {'ok': True, 'list': [1, 2], 'text': 'Zoë'},
        'content_type': 'application/json; charset=utf-8',
    }
    text = store.get_record('b-text')
    assert text is not None
    assert (text['value'], text['content_type']) == ('plain ünï', 'text/plain; charset=utf-8')
    raw = store.get_record('c-bytes')
    assert raw is not None
    assert (raw['value'], raw['content_type']) == (b'\x00\xff', 'application/octet-stream')
    html = store.get_record('d-html')
    assert html is not None
    assert (html['value'], html['content_type']) == ('<p>hi</p>', 'text/html; charset=utf-8')
    as_bytes = store.get_record_as_bytes('a-json')
    assert as_bytes is not None
    assert json.loads(as_bytes['value']) == {'ok': True, 'list': [1, 2], 'text': 'Zoë'}
    assert platform.record(created.id, 'c-bytes') == (b'\x00\xff', 'application/octet-stream')

    assert store.record_exists('b-text') is True
    assert store.record_exists('missing') is False
    assert store.get_record('missing') is None

    first = store.list_keys(limit=2)
    assert [item.key for item in first.items] == ['a-json', 'b-text']
    assert (first.count, first.limit, first.is_truncated) == (2, 2, True)
    assert first.next_exclusive_start_key == 'b-text'
    rest = store.list_keys(exclusive_start_key=first.next_exclusive_start_key)
    assert [item.key for item in rest.items] == ['c-bytes', 'd-html', 'e-list']
    assert rest.is_truncated is False
    assert rest.exclusive_start_key == 'b-text'
    assert [item.key for item in store.list_keys(prefix='d-').items] == ['d-html']
    sizes = {item.key: item.size for item in store.iterate_keys(chunk_size=2)}
    assert sizes['c-bytes'] == 2
    assert list(sizes) == ['a-json', 'b-text', 'c-bytes', 'd-html', 'e-list']

    url = store.get_record_public_url('b-text')
    assert url.startswith(platform.api_url)
    with urllib.request.urlopen(url, timeout=DEADLINE) as response:  # signed: no token
        assert response.read().decode() == 'plain ünï'

    store.delete_record('b-text')
    assert store.record_exists('b-text') is False
    info = store.get()
    assert info is not None
    assert info.id == created.id
    assert store.update(name='renamed-store').name == 'renamed-store'
    store.delete()
    assert store.get() is None


# ------------------------------------------------------------------------- request queues


def test_request_queue_add_get_update_delete(client: ApifyClient, platform: FakePlatform) -> None:
    """Requests are added once, read back, marked handled by update, and deleted."""
    created = client.request_queues().get_or_create(name='queue')
    assert client.request_queues().get_or_create(name='queue').id == created.id
    assert created.id in {item.id for item in client.request_queues().list().items}
    queue = client.request_queue(created.id, client_key='client-one')

    added = queue.add_request(
        {'unique_key': 'https://example.com/1', 'url': 'https://example.com/1'}
    )
    assert (added.was_already_present, added.was_already_handled) == (False, False)
    again = queue.add_request(
        {'unique_key': 'https://example.com/1', 'url': 'https://example.com/1'}
    )
    assert again.request_id == added.request_id
    assert again.was_already_present is True
    form = queue.add_request(
        {
            'unique_key': 'form',
            'url': 'https://example.com/form',
            'method': 'POST',
            'payload': 'a=1',
            'headers': {'X-Custom': 'yes'},
            'user_data': {'label': 'FORM'},
        },
        forefront=True,
    )

    got = queue.get_request(form.request_id)
    assert got is not None
    assert (got.id, got.unique_key, got.url, got.method) == (
        form.request_id,
        'form',
        'https://example.com/form',
        'POST',
    )
    assert got.payload == 'a=1'
    assert got.headers == {'X-Custom': 'yes'}
    assert got.user_data is not None
    assert got.user_data.model_dump(exclude_none=True)['label'] == 'FORM'
    assert got.handled_at is None
    assert queue.get_request('nosuchrequest00') is None

    head = queue.list_head(limit=10)
    assert [item.unique_key for item in head.items] == ['form', 'https://example.com/1']
    assert head.limit == 10

    handled = got.model_copy(
        update={'handled_at': datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)}
    )
    updated = queue.update_request(handled)
    assert (updated.request_id, updated.was_already_handled) == (form.request_id, False)
    marked = queue.get_request(form.request_id)
    assert marked is not None
    assert marked.handled_at is not None
    assert [item.unique_key for item in queue.list_head().items] == ['https://example.com/1']
    info = queue.get()
    assert info is not None
    assert (info.total_request_count, info.handled_request_count, info.pending_request_count) == (
        2,
        1,
        1,
    )

    queue.delete_request(added.request_id)
    assert queue.get_request(added.request_id) is None
    assert queue.update(name='renamed-queue').name == 'renamed-queue'
    queue.delete()
    assert queue.get() is None


def test_request_queue_batches_and_listing(client: ApifyClient, platform: FakePlatform) -> None:
    """Batch add in chunks of 25 (unprocessed ones reported), list by pages, batch delete."""
    queue = client.request_queue(client.request_queues().get_or_create().id)
    queue_id = queue.resource_id or ''
    requests = [{'unique_key': f'u{n:02d}', 'url': f'https://example.com/{n}'} for n in range(30)]
    platform.clear_received()
    result = queue.batch_add_requests(requests)
    batches = [r for r in platform.received if r.method == 'POST' and r.path.endswith('/batch')]
    assert len(batches) == 2
    assert len(result.processed_requests) == 30
    assert result.unprocessed_requests == []
    assert {item.unique_key for item in result.processed_requests} == {
        request['unique_key'] for request in requests
    }
    again = queue.batch_add_requests(requests[:3], forefront=True)
    assert all(item.was_already_present for item in again.processed_requests)

    platform.inject_unprocessed(count=2)
    more = queue.batch_add_requests(
        [{'unique_key': f'v{n}', 'url': f'https://example.com/v{n}'} for n in range(5)]
    )
    assert [item.unique_key for item in more.processed_requests] == ['v0', 'v1', 'v2']
    assert [item.unique_key for item in more.unprocessed_requests] == ['v3', 'v4']
    assert more.unprocessed_requests[0].url == 'https://example.com/v3'
    assert len(platform.queue_requests(queue_id)) == 33

    first = queue.list_requests(limit=10)
    assert len(first.items) == 10
    assert first.limit == 10
    seen = [item.unique_key for item in first.items]
    listed = [item.unique_key for item in queue.iterate_requests(chunk_size=7)]
    assert listed[:10] == seen
    assert len(listed) == len(set(listed)) == 33

    deleted = queue.batch_delete_requests([{'unique_key': 'u00'}, {'unique_key': 'u01'}])
    assert len(deleted.processed_requests) == 2
    assert 'u00' not in {
        entry['uniqueKey'] for entry in platform.queue_requests(queue.resource_id or '')
    }


def test_request_queue_locks(client: ApifyClient, platform: FakePlatform) -> None:
    """Head-and-lock hides locked requests from other clients; prolong and delete a lock."""
    queue_id = client.request_queues().get_or_create().id
    one = client.request_queue(queue_id, client_key='one')
    two = client.request_queue(queue_id, client_key='two')
    one.batch_add_requests(
        [{'unique_key': f'r{n}', 'url': f'https://example.com/{n}'} for n in range(4)]
    )

    locked = one.list_and_lock_head(lock_duration=timedelta(seconds=60), limit=2)
    assert [item.unique_key for item in locked.items] == ['r0', 'r1']
    assert locked.lock_secs == 60
    assert locked.limit == 2
    assert locked.queue_has_locked_requests is True
    first_id = locked.items[0].id

    others = two.list_and_lock_head(lock_duration=timedelta(seconds=60), limit=10)
    assert [item.unique_key for item in others.items] == ['r2', 'r3']
    assert two.list_and_lock_head(lock_duration=timedelta(seconds=60)).items == []

    prolonged = one.prolong_request_lock(first_id, lock_duration=timedelta(seconds=120))
    assert prolonged is not None
    assert prolonged.lock_expires_at.timestamp() > time.time() + 100
    with pytest.raises(ApifyApiError) as caught:  # only the holder may prolong
        two.prolong_request_lock(first_id, lock_duration=timedelta(seconds=10))
    assert caught.value.status_code in (403, 409)

    one.delete_request_lock(first_id, forefront=True)
    again = two.list_and_lock_head(lock_duration=timedelta(seconds=60))
    assert [item.unique_key for item in again.items] == ['r0']
    assert platform.expire_locks(queue_id) >= 1
    listed = two.list_head(limit=10)
    assert 'r0' in [item.unique_key for item in listed.items]


# --------------------------------------------------------------------------------- runs


def test_run_get_update_and_storages(client: ApifyClient, platform: FakePlatform) -> None:
    """A run started on the platform reads back, takes status messages and exposes its storages."""
    env = platform.run_env(input={'query': 'shoes'})
    run_client = client.run(env['ACTOR_RUN_ID'])
    run = run_client.get()
    assert run is not None
    assert (run.id, run.status, run.act_id) == (env['ACTOR_RUN_ID'], 'RUNNING', env['ACTOR_ID'])
    assert run.default_dataset_id == env['ACTOR_DEFAULT_DATASET_ID']
    assert run.default_key_value_store_id == env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']
    assert run.default_request_queue_id == env['ACTOR_DEFAULT_REQUEST_QUEUE_ID']
    assert client.run('NoSuchRun0000000').get() is None

    updated = run_client.update(status_message='Working: 1/3', is_status_message_terminal=False)
    assert (updated.status_message, updated.is_status_message_terminal) == ('Working: 1/3', False)
    assert platform.run(env['ACTOR_RUN_ID'])['statusMessage'] == 'Working: 1/3'

    record = run_client.key_value_store().get_record('INPUT')
    assert record is not None
    assert record['value'] == {'query': 'shoes'}
    run_client.dataset().push_items([{'n': 1}])
    assert platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [{'n': 1}]
    queue = run_client.request_queue().get()
    assert queue is not None
    assert queue.id == env['ACTOR_DEFAULT_REQUEST_QUEUE_ID']
    assert env['ACTOR_RUN_ID'] in {item.id for item in client.runs().list().items}


def test_run_wait_for_finish(client: ApifyClient, platform: FakePlatform) -> None:
    """wait_for_finish returns a running run when its time is up, and wakes when it ends."""
    run_id = platform.run_env()['ACTOR_RUN_ID']
    run_client = client.run(run_id)
    still = run_client.wait_for_finish(wait_duration=timedelta(seconds=1))
    assert still is not None
    assert still.status == 'RUNNING'

    thread, finished = finish_when_started(platform, set())
    ended = run_client.wait_for_finish(wait_duration=timedelta(seconds=DEADLINE))
    thread.join(DEADLINE)
    assert finished == [run_id]
    assert ended is not None
    assert (ended.status, ended.status_message) == ('SUCCEEDED', 'Finished by the test')
    assert ended.finished_at is not None
    assert ended.exit_code == 0


def test_run_abort_metamorph_reboot_resurrect(client: ApifyClient, platform: FakePlatform) -> None:
    """Abort (hard and graceful), metamorph with a new input, reboot and resurrect."""
    target = platform.create_actor('target-actor')

    run_id = platform.run_env(input={'a': 1})['ACTOR_RUN_ID']
    morphed = client.run(run_id).metamorph(target_actor_id=target, run_input={'b': 2})
    assert morphed.id == run_id
    assert morphed.act_id == target
    assert morphed.status == 'RUNNING'
    assert morphed.meta is not None
    store = morphed.default_key_value_store_id
    record = platform.record(store, 'INPUT-METAMORPH-1')
    assert record is not None
    assert json.loads(record[0]) == {'b': 2}

    rebooted = client.run(run_id).reboot()
    assert (rebooted.id, rebooted.status) == (run_id, 'RUNNING')

    aborted = client.run(run_id).abort()
    assert aborted.status == 'ABORTED'
    resurrected = client.run(run_id).resurrect()
    assert resurrected.status == 'RUNNING'
    assert resurrected.default_dataset_id == aborted.default_dataset_id

    aborting = client.run(run_id).abort(gracefully=True)
    assert aborting.status in ('ABORTING', 'ABORTED')
    final = client.run(run_id).wait_for_finish(wait_duration=timedelta(seconds=DEADLINE))
    assert final is not None
    assert final.status == 'ABORTED'


def test_run_charge(client: ApifyClient, platform: FakePlatform) -> None:
    """Charges of a pay-per-event run are recorded, once per idempotency key."""
    run_id = platform.run_env(pricing_info={'result': 0.25, 'start': 0.5})['ACTOR_RUN_ID']
    run_client = client.run(run_id)
    run_client.charge('result', count=3, idempotency_key='charge-1')
    run_client.charge('result', count=3, idempotency_key='charge-1')  # a retried call
    run_client.charge('start')
    charges = platform.charges(run_id)
    assert [(charge.event_name, charge.count) for charge in charges] == [
        ('result', 3),
        ('start', 1),
    ]
    assert str(platform.charged_usd(run_id)) in ('1.25', '1.250', '1.2500')
    with pytest.raises(ValueError, match='event_name'):
        run_client.charge('')


# ------------------------------------------------------------------------- actors and tasks


def test_actor_get_start_and_call(client: ApifyClient, platform: FakePlatform) -> None:
    """An Actor starts with its input and options; call() returns once the run is finished."""
    actor_id = platform.create_actor('my-actor', title='My Actor')
    actor = client.actor(actor_id)
    info = actor.get()
    assert info is not None
    assert (info.id, info.name) == (actor_id, 'my-actor')
    assert client.actor(f'{platform.username}~my-actor').get() is not None
    assert client.actor('nobody~no-such-actor').get() is None

    started = actor.start(run_input={'query': 'shoes'}, memory_mbytes=512, max_items=10)
    assert (started.act_id, started.status) == (actor_id, 'RUNNING')
    assert started.options.memory_mbytes == 512
    record = platform.record(started.default_key_value_store_id, 'INPUT')
    assert record is not None
    assert json.loads(record[0]) == {'query': 'shoes'}

    thread, finished = finish_when_started(platform, {run['id'] for run in platform.runs()})
    called = actor.call(run_input={'query': 'boots'}, logger=None)
    thread.join(DEADLINE)
    assert called is not None
    assert called.id == finished[0]
    assert called.status == 'SUCCEEDED'


def test_task_get_start_and_call(client: ApifyClient, platform: FakePlatform) -> None:
    """A task runs its Actor with the task's input; call() waits for the run to end."""
    actor_id = platform.create_actor('task-actor')
    task_id = platform.create_task(actor_id, 'my-task', input={'query': 'task input'})
    task = client.task(task_id)
    info = task.get()
    assert info is not None
    assert (info.id, info.act_id, info.name) == (task_id, actor_id, 'my-task')

    started = task.start()
    assert (started.act_id, started.actor_task_id, started.status) == (actor_id, task_id, 'RUNNING')
    record = platform.record(started.default_key_value_store_id, 'INPUT')
    assert record is not None
    assert json.loads(record[0]) == {'query': 'task input'}

    thread, finished = finish_when_started(
        platform, {run['id'] for run in platform.runs()}, status='FAILED'
    )
    called = task.call(task_input={'query': 'override'}, wait_duration=timedelta(seconds=DEADLINE))
    thread.join(DEADLINE)
    assert called is not None
    assert (called.id, called.status) == (finished[0], 'FAILED')


# ------------------------------------------------------------------------ webhooks and user


def test_webhook_create_and_user(client: ApifyClient, platform: FakePlatform) -> None:
    """An ad-hoc webhook for a run is created once per idempotency key; the user reads back."""
    run_id = platform.run_env()['ACTOR_RUN_ID']
    created = client.webhooks().create(
        event_types=['ACTOR.RUN.SUCCEEDED', 'ACTOR.RUN.FAILED'],
        request_url='https://example.com/hook',
        payload_template='{"runId": {{resource.id}}}',
        actor_run_id=run_id,
        is_ad_hoc=True,
        idempotency_key='hook-1',
        description='notify',
    )
    assert created.is_ad_hoc is True
    assert created.condition.actor_run_id == run_id
    assert [getattr(event, 'value', event) for event in created.event_types] == [
        'ACTOR.RUN.SUCCEEDED',
        'ACTOR.RUN.FAILED',
    ]
    same = client.webhooks().create(
        event_types=['ACTOR.RUN.SUCCEEDED'],
        request_url='https://example.com/hook',
        actor_run_id=run_id,
        is_ad_hoc=True,
        idempotency_key='hook-1',
    )
    assert same.id == created.id
    assert [hook['id'] for hook in platform.webhooks()] == [created.id]
    platform.finish_run(run_id)
    dispatches = platform.webhook_dispatches()
    assert [dispatch['eventType'] for dispatch in dispatches] == ['ACTOR.RUN.SUCCEEDED']
    got = client.webhook(created.id).get()
    assert got is not None
    assert str(got.request_url) == 'https://example.com/hook'
    assert created.id in {hook.id for hook in client.webhooks().list().items}
    client.webhook(created.id).delete()
    assert client.webhook(created.id).get() is None

    user = client.user().get()
    assert user is not None
    assert (user.id, user.username) == (platform.user_id, platform.username)


def test_faults_are_retried_by_the_official_client(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """Injected 5xx, 429 and resets are retried by the official client as on the platform."""
    dataset = client.dataset(client.datasets().get_or_create().id)
    platform.inject_faults(503, times=2, path='/items', method='POST')
    dataset.push_items([{'n': 1}])
    platform.inject_faults(429, times=1, path='/items', method='GET', retry_after=0)
    assert dataset.list_items().items == [{'n': 1}]
    platform.inject_faults(500, times=3, path='/items', method='GET')
    with pytest.raises(ApifyApiError) as caught:
        dataset.list_items()
    assert caught.value.status_code == 500

    reset = platform.inject_faults(reset=True, times=1, path='/items', method='POST')
    dataset.push_items([{'n': 2}])
    assert reset.triggered == 1
    lost = platform.inject_faults(503, times=1, path='/items', method='POST', after_processing=True)
    dataset.push_items([{'n': 3}])  # stored, its answer lost, retried: stored twice
    assert lost.triggered == 1
    assert [item['n'] for item in dataset.iterate_items()] == [1, 2, 3, 3]
    platform.inject_faults(404, times=1, path='/items', method='GET')
    with pytest.raises(ApifyApiError) as caught:  # other 4xx are not retried
        dataset.list_items()
    assert caught.value.status_code == 404
