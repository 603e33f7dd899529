"""The official apify-client and apify SDK against actorkit's FakePlatform.

Every answer the official client gets is validated by its strict pydantic models, so these
tests prove the fake's objects carry what the platform's do. The official SDK runs an Actor
"at home" on the fake in a subprocess.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from apify_client import ApifyClient

from actorkit.testing import FakePlatform


@pytest.fixture
def client(platform: FakePlatform) -> ApifyClient:
    """The official sync client of the fake platform."""
    return ApifyClient(platform.token, api_url=platform.api_url, api_public_url=platform.api_url)


def test_official_client_datasets(platform: FakePlatform, client: ApifyClient) -> None:
    """Dataset calls validate and behave: get-or-create, push, pages, iterate, delete."""
    created = client.datasets().get_or_create(name='official')
    assert created.name == 'official'
    assert client.datasets().get_or_create(name='official').id == created.id
    assert [d.id for d in client.datasets().list().items] == [created.id]
    dataset = client.dataset(created.id)
    dataset.push_items([{'n': n, '#hidden': n} for n in range(5)])
    dataset.push_items([{'text': 'x' * 5000}])
    page = dataset.list_items(offset=1, limit=2, desc=True, clean=True)
    assert (page.items, page.total, page.offset, page.count, page.desc) == (
        [{'n': 4}, {'n': 3}],
        6,
        1,
        2,
        True,
    )
    assert len(list(dataset.iterate_items())) == 6
    assert dataset.get_items_as_bytes(item_format='csv').startswith(b'n,#hidden,text')
    assert dataset.get().item_count == 6
    assert dataset.update(name='renamed').name == 'renamed'
    assert client.dataset('missing').get() is None
    dataset.delete()
    assert dataset.get() is None


def test_official_client_key_value_stores(platform: FakePlatform, client: ApifyClient) -> None:
    """Records keep content types; keys page; the public URL opens without a token."""
    store = client.key_value_store(client.key_value_stores().get_or_create(name='kv').id)
    store.set_record('json', {'a': 1})
    store.set_record('bytes', b'\x00\x01', content_type='application/octet-stream')
    store.set_record('text', 'y' * 5000, content_type='text/plain')
    assert store.get_record('json') == {
        'key': 'json',
        'value': {'a': 1},
        'content_type': 'application/json; charset=utf-8',
    }
    assert store.get_record_as_bytes('bytes')['value'] == b'\x00\x01'
    assert store.get_record('text')['value'] == 'y' * 5000
    assert store.get_record('missing') is None
    assert (store.record_exists('json'), store.record_exists('missing')) == (True, False)
    page = store.list_keys(limit=2)
    assert [item.key for item in page.items] == ['bytes', 'json']
    assert page.is_truncated
    assert [item.key for item in store.iterate_keys()] == ['bytes', 'json', 'text']
    import requests

    assert requests.get(store.get_record_public_url('json'), timeout=5).json() == {'a': 1}
    store.delete_record('bytes')
    assert store.get_record('bytes') is None
    store.delete()
    assert store.get() is None


def test_official_client_request_queues(platform: FakePlatform, client: ApifyClient) -> None:
    """Queue calls validate: add, batch (chunked past 25), head, locks, handled, list."""
    queue_id = client.request_queues().get_or_create(name='rq').id
    queue = client.request_queue(queue_id, client_key='one')
    queue.add_request({'url': 'https://a.com', 'unique_key': 'a'})
    queue.add_request({'url': 'https://b.com', 'unique_key': 'b'}, forefront=True)
    added = queue.batch_add_requests(
        [{'url': f'https://c.com/{n}', 'unique_key': f'c{n}'} for n in range(30)]
    )
    assert (len(added.processed_requests), added.unprocessed_requests) == (30, [])
    assert [item.unique_key for item in queue.list_head(limit=2).items] == ['b', 'a']
    locked = queue.list_and_lock_head(lock_duration=timedelta(seconds=60), limit=2)
    assert locked.lock_secs == 60
    first = locked.items[0].id
    assert queue.prolong_request_lock(first, lock_duration=timedelta(seconds=90)).lock_expires_at
    queue.delete_request_lock(first)
    request = queue.get_request(first)
    assert request is not None
    as_dict = request.model_dump(by_alias=True)
    as_dict['handledAt'] = '2024-01-01T00:00:00.000Z'
    assert queue.update_request(as_dict).was_already_handled is False
    info = queue.get()
    assert (info.total_request_count, info.handled_request_count) == (32, 1)
    assert info.pending_request_count == 31
    assert len(list(queue.iterate_requests(chunk_size=7))) == 32
    assert queue.unlock_requests().unlocked_count == 1
    deleted = queue.batch_delete_requests([{'unique_key': 'c1'}])
    assert deleted.processed_requests[0].unique_key == 'c1'
    queue.delete_request(first)
    assert queue.get_request(first) is None


def test_official_client_runs_actors_tasks(platform: FakePlatform, client: ApifyClient) -> None:
    """Runs, Actors, tasks, webhooks and the user validate and behave."""
    env = platform.run_env(input={'q': 1}, pricing_info={'page': 0.5})
    run = client.run(env['ACTOR_RUN_ID'])
    assert run.get().status == 'RUNNING'
    assert run.update(status_message='half').status_message == 'half'
    assert run.key_value_store().get_record('INPUT')['value'] == {'q': 1}
    run.charge('page', count=2)
    assert platform.charges(env['ACTOR_RUN_ID'])[0].count == 2
    assert run.get().charged_event_counts == {'page': 2}
    target = client.actors().create(name='target')
    assert client.actor('fake-user/target').get().id == target.id
    started = client.actor(target.id).start(run_input={'x': 1}, memory_mbytes=256)
    assert started.options.memory_mbytes == 256
    assert client.actor(target.id).last_run().get().id == started.id
    platform.finish_run(started.id)
    assert client.run(started.id).wait_for_finish().status == 'SUCCEEDED'
    morphed = run.metamorph(target_actor_id=target.id, run_input={'m': 1})
    assert morphed.metamorphs[0].input_key == 'INPUT-METAMORPH-1'
    assert run.reboot().stats.reboot_count == 1
    assert run.abort().status == 'ABORTED'
    assert run.resurrect().status == 'RUNNING'
    task = client.tasks().create(actor_id=target.id, name='daily', task_input={'t': 1})
    task_run = client.task(task.id).start()
    assert task_run.actor_task_id == task.id
    assert client.task(task.id).get_input() == {'t': 1}
    webhook = client.webhooks().create(
        event_types=['ACTOR.RUN.SUCCEEDED'],
        request_url='https://example.com/hook',
        actor_run_id=task_run.id,
        is_ad_hoc=True,
    )
    assert client.webhook(webhook.id).get().is_ad_hoc
    assert client.user().get().username == platform.username
    assert client.user().limits().limits.max_actor_memory_gbytes == 32
    assert client.runs().list().total == 3


def test_official_sdk_actor_runs_at_home(platform: FakePlatform, run_official: Any) -> None:
    """An Actor written with the official SDK runs at home on the fake platform."""
    env = platform.run_env(input={'greeting': 'hi'}, pricing_info={'greet': 0.1})
    result = run_official(
        """
        from apify import Actor

        async def main():
            async with Actor:
                actor_input = await Actor.get_input()
                await Actor.push_data([{'said': actor_input['greeting']}])
                await Actor.set_value('OUTPUT', {'done': True})
                queue = await Actor.open_request_queue()
                await queue.add_request('https://example.com/one')
                request = await queue.fetch_next_request()
                await queue.mark_request_as_handled(request)
                charged = await Actor.charge('greet', count=2)
                emit({'handled': request.url, 'charged': charged.charged_count})

        asyncio.run(main())
        """,
        env=env,
    )
    assert result == {'handled': 'https://example.com/one', 'charged': 2}
    assert platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [{'said': 'hi'}]
    output = platform.record(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], 'OUTPUT')
    assert output is not None
    assert b'"done"' in output[0]
    [request] = platform.queue_requests(env['ACTOR_DEFAULT_REQUEST_QUEUE_ID'])
    assert request['handledAt'] is not None
    assert [(c.event_name, c.count) for c in platform.charges(env['ACTOR_RUN_ID'])] == [
        ('greet', 2)
    ]


def test_official_sdk_platform_calls(platform: FakePlatform, run_official: Any) -> None:
    """The official SDK's run-level calls reach the fake as on the platform: status message,
    ad hoc webhook, start and call of another Actor, reboot, metamorph."""
    # The started run stays RUNNING until the test has read it; the called one ends at once.
    release = threading.Event()
    starts: list[object] = []

    def helper(env: object) -> None:
        starts.append(env)
        if len(starts) == 1:
            release.wait(60)

    platform.create_actor('helper', handler=helper)
    env = platform.run_env()
    try:
        result = run_official(
            """
            from apify import Actor, Webhook

            async def main():
                async with Actor:
                    await Actor.set_status_message('working')
                    await Actor.add_webhook(
                        Webhook(
                            event_types=['ACTOR.RUN.SUCCEEDED'],
                            request_url='https://example.com/h',
                        )
                    )
                    started = await Actor.start('fake-user/helper', {'a': 1})
                    called = await Actor.call('fake-user/helper', {'b': 2}, logger=None)
                    await Actor.reboot(custom_after_sleep=timedelta(0))
                    await Actor.metamorph(
                        'fake-user/helper', {'c': 3}, custom_after_sleep=timedelta(0)
                    )
                    emit({'started': started.status, 'called': called.status})

            from datetime import timedelta
            asyncio.run(main())
            """,
            env=env,
        )
    finally:
        release.set()
    assert result == {'started': 'RUNNING', 'called': 'SUCCEEDED'}
    run = platform.run(env['ACTOR_RUN_ID'])
    assert run['statusMessage'] == 'working'
    assert run['stats']['rebootCount'] == 1
    assert run['metamorphs'][0]['inputKey'] == 'INPUT-METAMORPH-1'
    [webhook] = platform.webhooks()
    assert webhook['condition'] == {'actorRunId': env['ACTOR_RUN_ID']}
    assert len(platform.runs()) == 3
