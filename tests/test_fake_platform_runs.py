"""FakePlatform runs, Actors, tasks, webhooks and users over real sockets."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from actorkit.testing import FakePlatform
from tests._fake_platform_spec import spec_checked_platform  # noqa: F401 (its ``platform``)


@pytest.fixture
def api(platform: FakePlatform) -> Iterator[Any]:
    """Call the platform: api('GET', '/v2/...', json=..., **params) -> Response."""
    session = requests.Session()
    session.headers['Authorization'] = f'Bearer {platform.token}'

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        body = {key: kwargs.pop(key) for key in ('json', 'data', 'headers') if key in kwargs}
        return session.request(method, platform.api_url + path, params=kwargs, **body)

    yield call
    session.close()


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'condition not met in time'
        threading.Event().wait(0.01)


# ----------------------------------------------------------------------------- run objects


def test_run_object_has_what_strict_clients_need(platform: FakePlatform, api: Any) -> None:
    """GET run answers the fields the official client's models require."""
    env = platform.run_env()
    run = api('GET', f'/v2/actor-runs/{env["ACTOR_RUN_ID"]}').json()['data']
    for field in (
        'id',
        'actId',
        'userId',
        'startedAt',
        'status',
        'meta',
        'stats',
        'options',
        'buildId',
        'buildNumber',
        'defaultKeyValueStoreId',
        'defaultDatasetId',
        'defaultRequestQueueId',
    ):
        assert field in run, field
    assert run['meta']['origin'] == 'API'
    assert set(run['options']) >= {'build', 'timeoutSecs', 'memoryMbytes', 'diskMbytes'}
    assert 128 <= run['options']['memoryMbytes'] <= 32768
    assert re.fullmatch(
        r'([0-9]|[1-9][0-9])\.([0-9]|[1-9][0-9])\.[1-9][0-9]{0,4}', run['buildNumber']
    )
    shown = platform.run(env['ACTOR_RUN_ID'])
    # platform.run() adds what tests check and the API does not show.
    extras = {key: shown.pop(key) for key in ('reboots', 'abort', 'webhooks')}
    assert extras == {'reboots': [], 'abort': None, 'webhooks': []}
    assert run == shown | {'stats': run['stats']}


def test_wait_for_finish_returns_when_the_run_ends(platform: FakePlatform, api: Any) -> None:
    """A GET with waitForFinish is answered as soon as the run finishes."""
    run_id = platform.run_env()['ACTOR_RUN_ID']
    result: dict[str, Any] = {}

    def wait() -> None:
        result['run'] = api('GET', f'/v2/actor-runs/{run_id}', waitForFinish=30).json()['data']

    waiter = threading.Thread(target=wait)
    started = time.monotonic()
    waiter.start()
    wait_until(lambda: any(r.query.get('waitForFinish') for r in platform.received))
    platform.finish_run(run_id, 'SUCCEEDED', status_message='done')
    waiter.join(10)
    assert time.monotonic() - started < 10
    assert result['run']['status'] == 'SUCCEEDED'
    assert result['run']['exitCode'] == 0
    assert result['run']['finishedAt'] is not None
    assert result['run']['statusMessage'] == 'done'


def test_wait_for_finish_gives_up_with_the_running_run(platform: FakePlatform, api: Any) -> None:
    """waitForFinish is bounded: after it the run comes back still RUNNING."""
    run_id = platform.run_env()['ACTOR_RUN_ID']
    started = time.monotonic()
    run = api('GET', f'/v2/actor-runs/{run_id}', waitForFinish=1).json()['data']
    assert run['status'] == 'RUNNING'
    assert 0.9 < time.monotonic() - started < 5


def test_a_run_times_out(platform: FakePlatform, api: Any) -> None:
    """Past its timeout a run is TIMED-OUT."""
    run_id = platform.run_env(timeout_secs=1)['ACTOR_RUN_ID']
    run = api('GET', f'/v2/actor-runs/{run_id}', waitForFinish=5).json()['data']
    assert run['status'] == 'TIMED-OUT'


def test_status_message_update(platform: FakePlatform, api: Any) -> None:
    """PUT run sets statusMessage and isStatusMessageTerminal."""
    run_id = platform.run_env()['ACTOR_RUN_ID']
    body = {'statusMessage': 'Crawled 10 pages', 'isStatusMessageTerminal': False}
    run = api('PUT', f'/v2/actor-runs/{run_id}', json=body).json()['data']
    assert (run['statusMessage'], run['isStatusMessageTerminal']) == ('Crawled 10 pages', False)
    assert platform.run(run_id)['statusMessage'] == 'Crawled 10 pages'


def test_abort_now_and_gracefully() -> None:
    """abort ends a run at once; gracefully it is ABORTING until the grace time passes."""
    with FakePlatform(abort_grace_secs=0.3) as platform:
        params = {'token': platform.token}
        first = platform.run_env()['ACTOR_RUN_ID']
        aborted = requests.post(f'{platform.api_url}/v2/actor-runs/{first}/abort', params=params)
        assert aborted.json()['data']['status'] == 'ABORTED'
        second = platform.run_env()['ACTOR_RUN_ID']
        graceful = requests.post(
            f'{platform.api_url}/v2/actor-runs/{second}/abort',
            params={**params, 'gracefully': 'true'},
        ).json()['data']
        assert graceful['status'] == 'ABORTING'
        done = requests.get(
            f'{platform.api_url}/v2/actor-runs/{second}', params={**params, 'waitForFinish': 5}
        ).json()['data']
        assert done['status'] == 'ABORTED'
    from tests._fake_platform_spec import assert_on_spec

    assert_on_spec(platform)


def test_metamorph_stores_the_input_and_switches_actor(platform: FakePlatform, api: Any) -> None:
    """metamorph keeps the run, stores INPUT-METAMORPH-1 and records the target."""
    target = platform.create_actor('scraper')
    env = platform.run_env(input={'start': 1})
    run_id = env['ACTOR_RUN_ID']
    missing = api('POST', f'/v2/actor-runs/{run_id}/metamorph', targetActorId='nobody~nothing')
    assert missing.status_code == 404
    run = api(
        'POST',
        f'/v2/actor-runs/{run_id}/metamorph',
        targetActorId=f'{platform.username}~scraper',
        data=b'{"next": 2}',
        headers={'Content-Type': 'application/json'},
    ).json()['data']
    assert run['id'] == run_id
    assert run['actId'] == target
    assert run['status'] == 'RUNNING'
    assert run['metamorphs'][0]['actorId'] == target
    assert run['metamorphs'][0]['inputKey'] == 'INPUT-METAMORPH-1'
    store = env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']
    assert platform.record(store, 'INPUT-METAMORPH-1') == (b'{"next": 2}', 'application/json')
    assert platform.record(store, 'INPUT') == (b'{"start": 1}', 'application/json; charset=utf-8')
    assert platform.environment(run_id)['ACTOR_INPUT_KEY'] == 'INPUT-METAMORPH-1'


def test_reboot_and_resurrect(platform: FakePlatform, api: Any) -> None:
    """reboot counts on a running run; resurrect only takes a finished one back to RUNNING."""
    run_id = platform.run_env()['ACTOR_RUN_ID']
    rebooted = api('POST', f'/v2/actor-runs/{run_id}/reboot').json()['data']
    assert rebooted['stats']['rebootCount'] == 1
    assert api('POST', f'/v2/actor-runs/{run_id}/resurrect').status_code == 400
    platform.finish_run(run_id, 'FAILED')
    assert api('POST', f'/v2/actor-runs/{run_id}/reboot').status_code == 400
    revived = api('POST', f'/v2/actor-runs/{run_id}/resurrect', memory=512).json()['data']
    assert revived['status'] == 'RUNNING'
    assert revived['finishedAt'] is None
    assert revived['options']['memoryMbytes'] == 512
    assert revived['stats']['resurrectCount'] == 1


def test_run_storages_and_deletion(platform: FakePlatform, api: Any) -> None:
    """The run's storages answer under /v2/actor-runs/{id}/...; a finished run can be deleted."""
    env = platform.run_env()
    run_id = env['ACTOR_RUN_ID']
    pushed = api('POST', f'/v2/actor-runs/{run_id}/dataset/items', json=[{'a': 1}])
    assert pushed.status_code == 201
    assert platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [{'a': 1}]
    store = api('GET', f'/v2/actor-runs/{run_id}/key-value-store').json()['data']
    assert store['id'] == env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']
    assert api('DELETE', f'/v2/actor-runs/{run_id}').status_code == 400
    platform.finish_run(run_id)
    assert api('DELETE', f'/v2/actor-runs/{run_id}').status_code == 204
    assert api('GET', f'/v2/actor-runs/{run_id}').status_code == 404
    assert api('GET', '/v2/actor-runs/nope/dataset').status_code == 404


# ----------------------------------------------------------------------------- charging


def test_charges_are_recorded_and_deduplicated(platform: FakePlatform, api: Any) -> None:
    """A charge is recorded once per idempotency key and counted on the run."""
    env = platform.run_env(pricing_info={'page': '0.25', 'item': 0.01})
    run_id = env['ACTOR_RUN_ID']
    charge = f'/v2/actor-runs/{run_id}/charge'
    first = api(
        'POST', charge, json={'eventName': 'page', 'count': 2}, headers={'idempotency-key': 'k1'}
    )
    assert first.status_code == 201
    repeat = api(
        'POST', charge, json={'eventName': 'page', 'count': 2}, headers={'idempotency-key': 'k1'}
    )
    assert repeat.status_code == 201
    api('POST', charge, json={'eventName': 'item', 'count': 3}, headers={'idempotency-key': 'k2'})
    charges = platform.charges(run_id)
    assert [(c.event_name, c.count, c.idempotency_key) for c in charges] == [
        ('page', 2, 'k1'),
        ('item', 3, 'k2'),
    ]
    assert platform.charged_usd(run_id) == Decimal('0.53')
    assert platform.run(run_id)['chargedEventCounts'] == {'page': 2, 'item': 3}


def test_bad_charges_are_refused(platform: FakePlatform, api: Any) -> None:
    """Unknown events, synthetic apify-* events, bad counts and non-PPE runs get 400."""
    run_id = platform.run_env(pricing_info={'page': 0.1})['ACTOR_RUN_ID']
    charge = f'/v2/actor-runs/{run_id}/charge'
    assert api('POST', charge, json={'eventName': 'nope'}).status_code == 400
    synthetic = api('POST', charge, json={'eventName': 'apify-default-dataset-item'})
    assert synthetic.json()['error']['type'] == 'cannot-charge-apify-event'
    assert api('POST', charge, json={'eventName': 'page', 'count': 0}).status_code == 400
    free = platform.run_env()['ACTOR_RUN_ID']
    refused = api('POST', f'/v2/actor-runs/{free}/charge', json={'eventName': 'page'})
    assert refused.json()['error']['type'] == 'cannot-charge-non-pay-per-event-actor'
    assert platform.charges(run_id) == []


# ----------------------------------------------------------------------------- Actors and tasks


def test_starting_an_actor_runs_its_handler(platform: FakePlatform, api: Any) -> None:
    """POST /v2/acts/{user~name}/runs makes a run; the Actor's handler plays its process."""
    seen: list[dict[str, str]] = []

    def handler(env: dict[str, str]) -> int:
        seen.append(env)
        return 0

    actor_id = platform.create_actor('worker', handler=handler)
    started = api(
        'POST',
        f'/v2/acts/{platform.username}~worker/runs',
        json={'n': 3},
        memory=256,
        timeout=120,
        waitForFinish=10,
    )
    assert started.status_code == 201
    run = started.json()['data']
    assert started.headers['Location'].endswith(f'/v2/actor-runs/{run["id"]}')
    assert run['status'] == 'SUCCEEDED'
    assert run['actId'] == actor_id
    assert run['options']['memoryMbytes'] == 256
    assert run['options']['timeoutSecs'] == 120
    assert seen[0]['ACTOR_RUN_ID'] == run['id']
    assert platform.record(run['defaultKeyValueStoreId'], 'INPUT')[0] == b'{"n": 3}'
    last = api('GET', f'/v2/actors/{actor_id}/runs/last', status='SUCCEEDED').json()['data']
    assert last['id'] == run['id']
    items = api('GET', f'/v2/actors/{actor_id}/runs/last/dataset/items')
    assert items.json() == []
    listed = api('GET', f'/v2/actors/{actor_id}/runs').json()['data']
    assert [item['id'] for item in listed['items']] == [run['id']]


def test_a_failing_handler_fails_the_run(platform: FakePlatform, api: Any) -> None:
    """A handler that returns non-zero or raises ends the run FAILED."""
    platform.create_actor('exits-2', handler=lambda env: 2)

    def boom(env: dict[str, str]) -> None:
        raise RuntimeError('crash')

    platform.create_actor('raises', handler=boom)
    for name, code in (('exits-2', 2), ('raises', 1)):
        run = api('POST', f'/v2/actors/{name}/runs', waitForFinish=10).json()['data']
        assert (run['status'], run['exitCode']) == ('FAILED', code)


def test_actor_crud_over_the_api(platform: FakePlatform, api: Any) -> None:
    """Actors are created, read by id or name, updated, listed and deleted."""
    created = api('POST', '/v2/actors', json={'name': 'made', 'title': 'Made'})
    assert created.status_code == 201
    actor = created.json()['data']
    for field in (
        'id',
        'userId',
        'name',
        'username',
        'isPublic',
        'createdAt',
        'modifiedAt',
        'stats',
        'versions',
        'defaultRunOptions',
    ):
        assert field in actor
    assert api('POST', '/v2/actors', json={'name': 'made'}).status_code == 409
    assert api('GET', f'/v2/acts/{platform.username}~made').json()['data']['id'] == actor['id']
    updated = api('PUT', f'/v2/actors/{actor["id"]}', json={'title': 'Renamed'}).json()['data']
    assert updated['title'] == 'Renamed'
    assert [a['name'] for a in api('GET', '/v2/actors').json()['data']['items']] == ['made']
    build = api('GET', f'/v2/actors/{actor["id"]}/builds/default').json()['data']
    assert api('GET', f'/v2/actor-builds/{build["id"]}').json()['data']['status'] == 'SUCCEEDED'
    assert api('DELETE', f'/v2/actors/{actor["id"]}').status_code == 204
    assert api('GET', f'/v2/actors/{actor["id"]}').status_code == 404


def test_tasks_run_with_their_input(platform: FakePlatform, api: Any) -> None:
    """A task's run gets the task's input and id; the task API reads and updates it."""
    platform.create_actor('base')
    task = api(
        'POST', '/v2/actor-tasks', json={'actId': 'base', 'name': 'daily', 'input': {'d': 1}}
    )
    assert task.status_code == 201
    task_id = task.json()['data']['id']
    assert api('GET', f'/v2/actor-tasks/{task_id}/input').json() == {'d': 1}
    api('PUT', f'/v2/actor-tasks/{task_id}/input', json={'d': 2})
    run = api('POST', f'/v2/actor-tasks/{task_id}/runs').json()['data']
    assert run['actorTaskId'] == task_id
    assert platform.record(run['defaultKeyValueStoreId'], 'INPUT')[0] == b'{"d": 2}'
    env = platform.run_env(task_id=task_id)
    assert env['ACTOR_TASK_ID'] == task_id
    last = api('GET', f'/v2/actor-tasks/{task_id}/runs/last').json()['data']
    assert last['id'] == env['ACTOR_RUN_ID']
    assert len(api('GET', f'/v2/actor-tasks/{task_id}/runs').json()['data']['items']) == 2
    assert api('DELETE', f'/v2/actor-tasks/{task_id}').status_code == 204


# ----------------------------------------------------------------------------- webhooks, users


def test_ad_hoc_webhooks_are_dispatched_when_the_run_ends(platform: FakePlatform, api: Any) -> None:
    """webhooks= on start makes ad hoc webhooks; the run's end records a dispatch."""
    platform.create_actor('hooked')
    hooks = [{'eventTypes': ['ACTOR.RUN.SUCCEEDED'], 'requestUrl': 'https://example.com/done'}]
    encoded = base64.b64encode(json.dumps(hooks).encode()).decode()
    run = api('POST', '/v2/actors/hooked/runs', webhooks=encoded).json()['data']
    [webhook] = platform.webhooks()
    assert webhook['isAdHoc'] is True
    assert webhook['condition'] == {'actorRunId': run['id']}
    platform.finish_run(run['id'])
    [dispatch] = platform.webhook_dispatches()
    assert dispatch['eventType'] == 'ACTOR.RUN.SUCCEEDED'
    assert dispatch['eventData']['actorRunId'] == run['id']


def test_webhook_crud_and_idempotency(platform: FakePlatform, api: Any) -> None:
    """Webhooks are created (once per idempotencyKey), read, updated, listed and deleted."""
    body = {
        'eventTypes': ['ACTOR.RUN.FAILED'],
        'condition': {'actorRunId': 'abc'},
        'requestUrl': 'https://example.com/x',
        'isAdHoc': True,
        'idempotencyKey': 'once',
    }
    created = api('POST', '/v2/webhooks', json=body)
    assert created.status_code == 201
    webhook = created.json()['data']
    assert webhook['ignoreSslErrors'] is False
    assert api('POST', '/v2/webhooks', json=body).json()['data']['id'] == webhook['id']
    assert api('POST', '/v2/webhooks', json={'requestUrl': 'x'}).status_code == 400
    updated = api('PUT', f'/v2/webhooks/{webhook["id"]}', json={'description': 'd'}).json()['data']
    assert updated['description'] == 'd'
    assert api('GET', '/v2/webhooks').json()['data']['total'] == 1
    assert api('DELETE', f'/v2/webhooks/{webhook["id"]}').status_code == 204
    assert api('GET', f'/v2/webhooks/{webhook["id"]}').status_code == 404


def test_users_me(platform: FakePlatform, api: Any) -> None:
    """/v2/users/me describes the one user; /v2/users/{id} its public face."""
    me = api('GET', '/v2/users/me').json()['data']
    assert (me['id'], me['username']) == (platform.user_id, platform.username)
    assert me['proxy']['password']
    public = api('GET', f'/v2/users/{platform.user_id}').json()['data']
    assert public == {'username': platform.username, 'profile': {'name': 'Fake User'}}


def test_unknown_paths_and_methods(platform: FakePlatform) -> None:
    """An unknown path is 404 page-not-found; a known path with a wrong method is 405."""
    params = {'token': platform.token}
    unknown = requests.get(f'{platform.api_url}/v2/nothing-here', params=params)
    assert (unknown.status_code, unknown.json()['error']['type']) == (404, 'page-not-found')
    wrong = requests.patch(f'{platform.api_url}/v2/datasets', params=params)
    assert (wrong.status_code, wrong.json()['error']['type']) == (405, 'method-not-allowed')
    platform.clear_received()


def test_finish_run_refuses_a_live_status(platform: FakePlatform) -> None:
    """finish_run takes only terminal statuses and known runs."""
    run_id = platform.run_env()['ACTOR_RUN_ID']
    with pytest.raises(ValueError, match='SUCCEEDED'):
        platform.finish_run(run_id, 'RUNNING')
    with pytest.raises(LookupError, match='no run'):
        platform.finish_run('missing')


def test_run_sync_answers_the_output_or_the_items(platform: FakePlatform, api: Any) -> None:
    """run-sync waits for the run and answers its OUTPUT; the -get-dataset-items variant its
    items; a failed run is a 400."""

    def handler(env: dict[str, str]) -> None:
        platform.set_record(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], 'OUTPUT', {'ok': True})
        token = {'token': env['APIFY_TOKEN']}
        url = f'{env["APIFY_API_BASE_URL"]}/v2/datasets/{env["ACTOR_DEFAULT_DATASET_ID"]}/items'
        requests.post(url, params=token, json=[{'n': 1}, {'n': 2}], timeout=5)

    platform.create_actor('quick', handler=handler)
    output = api('POST', '/v2/actors/quick/run-sync', json={})
    assert (output.status_code, output.json()) == (201, {'ok': True})
    items = api('GET', '/v2/actors/quick/run-sync-get-dataset-items', limit=1)
    assert (items.status_code, items.json()) == (201, [{'n': 1}])
    assert items.headers['X-Apify-Pagination-Total'] == '2'
    platform.create_actor('broken', handler=lambda env: 1)
    failed = api('POST', '/v2/actors/broken/run-sync')
    assert (failed.status_code, failed.json()['error']['type']) == (400, 'run-failed')


def test_webhook_test_dispatch(platform: FakePlatform, api: Any) -> None:
    """POST webhooks/{id}/test records a TEST dispatch, listed and readable."""
    body = {
        'eventTypes': ['ACTOR.RUN.SUCCEEDED'],
        'condition': {'actorId': 'x'},
        'requestUrl': 'https://example.com/t',
    }
    webhook = api('POST', '/v2/webhooks', json=body).json()['data']
    dispatch = api('POST', f'/v2/webhooks/{webhook["id"]}/test')
    assert dispatch.status_code == 201
    dispatch_id = dispatch.json()['data']['id']
    assert api('GET', f'/v2/webhook-dispatches/{dispatch_id}').json()['data']['eventType'] == 'TEST'
    listed = api('GET', '/v2/webhook-dispatches').json()['data']['items']
    assert [item['id'] for item in listed] == [dispatch_id]
    assert api('GET', f'/v2/webhooks/{webhook["id"]}/dispatches').json()['data']['total'] == 1


def test_bad_run_options_are_refused(platform: FakePlatform, api: Any) -> None:
    """Bad options get a clear error in Python and a 400 over HTTP, and create no run."""
    with pytest.raises(ValueError, match='Memory must be between 128 and 32768'):
        platform.run_env(memory_mbytes=64)
    with pytest.raises(LookupError, match='create_task'):
        platform.run_env(task_id='nope')
    platform.create_actor('strict')
    bad_hooks = base64.b64encode(json.dumps([{'requestUrl': 'nope'}]).encode()).decode()
    assert api('POST', '/v2/actors/strict/runs', webhooks=bad_hooks).status_code == 400
    assert api('POST', '/v2/actors/strict/runs', memory=64).status_code == 400
    assert platform.runs() == []
