"""Run operations against the FakePlatform: metamorph, reboot, other runs, abort, webhooks."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from actorkit import (
    Actor,
    ActorStateError,
    ApifyApiError,
    Configuration,
    ConfigurationError,
    Event,
    PersistStateData,
    Run,
    Webhook,
)
from actorkit.testing import FakePlatform, emit, wait_for_listeners
from tests._home import home_env
from tests._subprocess import describe, run_script

DEADLINE = 20.0
"""Seconds a test waits for something another thread does."""


def _home_env(platform: FakePlatform, **extra: str) -> dict[str, str]:
    env = home_env(platform.run_env(input={'start': True}))
    env.update(extra)
    return env


@pytest.fixture
def home_actor(home_actor: Callable[..., Actor], platform: FakePlatform) -> Callable[..., Actor]:
    """Build running Actors at home (input ``{'start': True}``), with extra env variables."""

    def make(**extra: str) -> Actor:
        return home_actor(_home_env(platform, **extra))

    return make


@pytest.fixture
def local_actor(make_actor: Callable[..., Actor]) -> Callable[..., Actor]:
    """Build running local Actors (not at home), with the given settings."""

    def make(**settings: object) -> Actor:
        actor = make_actor(
            persist_state_interval_millis=600_000, system_info_interval_millis=600_000, **settings
        )
        actor.init()
        return actor

    return make


def _requests_to(platform: FakePlatform, method: str, suffix: str) -> list[int]:
    """Positions in the request log of the requests with ``method`` whose path ends so."""
    return [
        index
        for index, request in enumerate(platform.received)
        if request.method == method and request.path.endswith(suffix)
    ]


def _wait_for(condition: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        threading.Event().wait(0.01)
    raise AssertionError(f'timed out waiting for {what}')


def _runs_of(platform: FakePlatform, actor_id: str) -> list[dict[str, object]]:
    return [run for run in platform.runs() if run['actId'] == actor_id]


# -- metamorph -------------------------------------------------------------------------------------


def test_metamorph_runs_persist_state_listeners_before_the_api_call(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """PERSIST_STATE listeners finish before POST metamorph; the run then runs the target."""
    target = platform.create_actor('target')
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    seen: list[tuple[int, bool, int]] = []

    def save(data: PersistStateData) -> None:
        threading.Event().wait(0.05)  # a listener that takes a moment is still waited for
        metamorphs = len(platform.run(run_id)['metamorphs'])
        seen.append((len(platform.received), data.is_migrating, metamorphs))

    actor.on(Event.PERSIST_STATE, save)
    actor.metamorph('target', {'n': 2}, custom_after_sleep=timedelta(0))

    [call] = _requests_to(platform, 'POST', f'/v2/actor-runs/{run_id}/metamorph')
    assert len(seen) == 1
    logged_before, is_migrating, metamorphs_then = seen[0]
    assert logged_before <= call
    assert is_migrating is True
    assert metamorphs_then == 0
    run = platform.run(run_id)
    assert run['actId'] == target
    assert [entry['inputKey'] for entry in run['metamorphs']] == ['INPUT-METAMORPH-1']
    stored = platform.record(run['defaultKeyValueStoreId'], 'INPUT-METAMORPH-1')
    assert stored is not None
    assert json.loads(stored[0]) == {'n': 2}


def test_metamorph_waits_after_the_call_until_the_run_ends(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """metamorph() waits to be replaced; exit() from another thread ends that wait early."""
    platform.create_actor('target')
    actor = home_actor()
    returned = threading.Event()

    def transform() -> None:
        actor.metamorph('target', custom_after_sleep=timedelta(seconds=60))
        returned.set()

    thread = threading.Thread(target=transform, name='test-metamorph', daemon=True)
    started = time.monotonic()
    thread.start()
    _wait_for(
        lambda: _requests_to(platform, 'POST', '/metamorph'), 'the metamorph request to arrive'
    )
    assert not returned.wait(0.2)
    actor.exit(event_listeners_timeout=1)
    assert returned.wait(DEADLINE)
    thread.join(DEADLINE)
    assert time.monotonic() - started < 30


def test_metamorph_waits_for_the_configured_after_sleep(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """Without custom_after_sleep, APIFY_METAMORPH_AFTER_SLEEP_MILLIS is how long it waits."""
    platform.create_actor('target')
    actor = home_actor(APIFY_METAMORPH_AFTER_SLEEP_MILLIS='300')
    started = time.monotonic()
    actor.metamorph('target')
    assert 0.25 <= time.monotonic() - started < 15


def test_get_input_after_a_metamorph_reads_the_metamorph_input(
    home_actor: Callable[..., Actor], platform: FakePlatform, tmp_path: Path
) -> None:
    """The metamorphed run's process reads INPUT-METAMORPH-1, the key the platform sets."""
    platform.create_actor('target')
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    actor.metamorph('target', {'query': 'after'}, custom_after_sleep=0)
    env = platform.environment(run_id)
    env.pop('ACTOR_EVENTS_WEBSOCKET_URL', None)
    assert env['ACTOR_INPUT_KEY'] == 'INPUT-METAMORPH-1'
    result = run_script(
        tmp_path,
        """
        import json
        from actorkit import actor

        with actor:
            print('INPUT=' + json.dumps(actor.get_input()))
        """,
        env=env,
    )
    assert result.returncode == 0, describe(result)
    assert 'INPUT={"query": "after"}' in result.stdout


# -- reboot ----------------------------------------------------------------------------------------


def test_reboot_runs_persist_state_and_migrating_listeners_once_before_the_api_call(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """Each listener runs once, and both have finished before POST reboot arrives."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    calls: list[tuple[str, int, int]] = []

    def on_persist(data: PersistStateData) -> None:
        calls.append(
            ('persist', len(platform.received), platform.run(run_id)['stats']['rebootCount'])
        )
        assert data.is_migrating

    def on_migrating() -> None:
        threading.Event().wait(0.05)
        calls.append(
            ('migrating', len(platform.received), platform.run(run_id)['stats']['rebootCount'])
        )

    actor.on(Event.PERSIST_STATE, on_persist)
    actor.on(Event.MIGRATING, on_migrating)
    actor.reboot(custom_after_sleep=0)

    [call] = _requests_to(platform, 'POST', f'/v2/actor-runs/{run_id}/reboot')
    assert sorted(name for name, _, _ in calls) == ['migrating', 'persist']
    for _, logged_before, reboots_then in calls:
        assert logged_before <= call
        assert reboots_then == 0
    run = platform.run(run_id)
    assert run['stats']['rebootCount'] == 1
    assert len(run['reboots']) == 1


def test_a_second_reboot_while_one_is_in_progress_is_refused(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """A reboot called while another waits for its listeners raises; one reboot is sent."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    in_listener = threading.Event()
    release = threading.Event()

    def on_migrating() -> None:
        in_listener.set()
        release.wait(DEADLINE)

    actor.on(Event.MIGRATING, on_migrating)
    first_error: list[BaseException] = []

    def first() -> None:
        try:
            actor.reboot(custom_after_sleep=0)
        except BaseException as exc:
            first_error.append(exc)

    thread = threading.Thread(target=first, name='test-reboot', daemon=True)
    thread.start()
    assert in_listener.wait(DEADLINE)
    with pytest.raises(ActorStateError, match='already rebooting'):
        actor.reboot(custom_after_sleep=0)
    release.set()
    thread.join(DEADLINE)
    assert not first_error
    assert len(_requests_to(platform, 'POST', f'/v2/actor-runs/{run_id}/reboot')) == 1
    assert platform.run(run_id)['stats']['rebootCount'] == 1


def test_a_reboot_that_failed_can_be_tried_again(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """An API error reaches the caller and leaves the run free to reboot again."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    platform.inject_faults(status=400, times=1, path=f'/v2/actor-runs/{run_id}/reboot')
    with pytest.raises(ApifyApiError):
        actor.reboot(custom_after_sleep=0)
    actor.reboot(custom_after_sleep=0)
    assert platform.run(run_id)['stats']['rebootCount'] == 1


def test_reboot_waits_for_listeners_only_up_to_its_timeout(
    home_actor: Callable[..., Actor], platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that hangs delays the reboot by event_listeners_timeout, then is reported."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    release = threading.Event()
    actor.on(Event.MIGRATING, lambda: release.wait(DEADLINE))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger='actorkit'):
        actor.reboot(event_listeners_timeout=timedelta(milliseconds=200), custom_after_sleep=0)
    release.set()
    assert 0.15 <= time.monotonic() - started < 15
    assert platform.run(run_id)['stats']['rebootCount'] == 1
    assert any('still running' in record.getMessage() for record in caplog.records)


# -- other runs ------------------------------------------------------------------------------------


def test_call_waits_for_a_run_the_test_finishes_from_another_thread(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """call() returns the ended run as a Run once the platform finishes it."""
    other = platform.create_actor('other')
    actor = home_actor()

    def finish_it() -> None:
        runs = _wait_for(lambda: _runs_of(platform, other), 'the called run to start')
        platform.finish_run(str(runs[0]['id']), status='SUCCEEDED')  # type: ignore[index]

    finisher = threading.Thread(target=finish_it, name='test-finisher', daemon=True)
    finisher.start()
    run = actor.call('other', {'q': 1}, memory_mbytes=256)
    finisher.join(DEADLINE)

    assert isinstance(run, Run)
    assert run.act_id == other
    assert run.status == 'SUCCEEDED'
    assert run.is_finished
    assert run.exit_code == 0
    assert isinstance(run.finished_at, datetime)
    assert run.finished_at.tzinfo is not None
    assert run.options.memory_mbytes == 256
    stored = platform.record(run.default_key_value_store_id, 'INPUT')
    assert stored is not None
    assert json.loads(stored[0]) == {'q': 1}
    waits = [
        request
        for request in platform.received
        if request.method == 'GET' and request.path == f'/v2/actor-runs/{run.id}'
    ]
    assert waits
    assert all('waitForFinish' in request.query for request in waits)


def test_call_returns_the_running_run_when_its_wait_passes(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """call(wait=...) gives up after the wait and returns the run still RUNNING."""
    platform.create_actor('slow')
    actor = home_actor()
    started = time.monotonic()
    run = actor.call('slow', wait=timedelta(seconds=1))
    assert 0.9 <= time.monotonic() - started < 15
    assert run.status == 'RUNNING'
    assert run.finished_at is None
    assert not run.is_finished


def test_call_task_runs_the_task_and_returns_its_run(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """call_task() starts the task with its input overridden and waits for the handler's end."""
    inputs: list[str | None] = []

    def handler(env: dict[str, str]) -> int:
        inputs.append(env.get('ACTOR_TASK_ID'))
        return 0

    actor_id = platform.create_actor('worker', handler=handler)
    task_id = platform.create_task('worker', 'daily', input={'a': 1, 'b': 1})
    actor = home_actor()
    run = actor.call_task('daily', {'b': 2}, build='latest')
    assert run.status == 'SUCCEEDED'
    assert run.act_id == actor_id
    assert run.actor_task_id == task_id
    assert inputs == [task_id]
    stored = platform.record(run.default_key_value_store_id, 'INPUT')
    assert stored is not None
    assert json.loads(stored[0]) == {'a': 1, 'b': 2}


def test_start_and_start_task_return_at_once(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """start() and start_task() return RUNNING runs without waiting for them."""
    platform.create_actor('other')
    platform.create_task('other', 'nightly')
    actor = home_actor()
    run = actor.start('other', 'plain text', content_type='text/plain')
    task_run = actor.start_task('nightly')
    assert run.status == task_run.status == 'RUNNING'
    stored = platform.record(run.default_key_value_store_id, 'INPUT')
    assert stored is not None
    assert stored[0] == b'plain text'
    assert stored[1].startswith('text/plain')
    assert task_run.actor_task_id is not None


def test_timeout_inherit_gives_the_started_run_the_rest_of_this_runs_time(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """timeout='inherit' sends the remaining time of this run, in whole seconds."""
    platform.create_actor('other')
    timeout_at = datetime.now(timezone.utc) + timedelta(seconds=120)
    actor = home_actor(ACTOR_TIMEOUT_AT=timeout_at.isoformat())
    remaining = actor.get_remaining_time()
    assert remaining is not None
    assert timedelta(seconds=100) < remaining <= timedelta(seconds=120)
    run = actor.start('other', timeout='inherit')
    assert run.options.timeout_secs is not None
    assert 100 < run.options.timeout_secs <= 120
    explicit = actor.start('other', timeout=timedelta(seconds=30.2))
    assert explicit.options.timeout_secs == 31


def test_webhooks_given_to_start_are_bound_to_the_new_run(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """Webhook objects passed to start() become ad-hoc webhooks of the started run."""
    platform.create_actor('other')
    actor = home_actor()
    hook = Webhook(event_types=['ACTOR.RUN.SUCCEEDED'], request_url='https://example.com/done')
    run = actor.start('other', webhooks=[hook])
    [shown] = platform.run(run.id)['webhooks']
    assert shown['isAdHoc'] is True
    assert shown['eventTypes'] == ['ACTOR.RUN.SUCCEEDED']
    assert shown['requestUrl'] == 'https://example.com/done'


def test_abort_gracefully_sets_the_message_and_leaves_the_run_aborting(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """abort(status_message=, gracefully=True) sets the message, then asks a graceful abort."""
    platform.create_actor('other')
    actor = home_actor()
    started = actor.start('other')
    run = actor.abort(started.id, status_message='Stopped by the parent', gracefully=True)
    assert run.status == 'ABORTING'
    assert run.status_message == 'Stopped by the parent'
    shown = platform.run(started.id)
    assert shown['abort']['gracefully'] is True
    update = _requests_to(platform, 'PUT', f'/v2/actor-runs/{started.id}')
    abort = _requests_to(platform, 'POST', f'/v2/actor-runs/{started.id}/abort')
    assert update
    assert abort
    assert update[-1] < abort[0]
    hard = actor.abort(actor.start('other').id)
    assert hard.status == 'ABORTED'
    assert hard.is_finished


def test_resurrect_starts_a_finished_run_again(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """resurrect() brings a finished run back to RUNNING with the same storages."""
    platform.create_actor('other')
    actor = home_actor()
    started = actor.start('other')
    platform.finish_run(started.id, status='FAILED')
    run = actor.resurrect(started.id, memory_mbytes=512, restart_on_error=True)
    assert run.status == 'RUNNING'
    assert run.default_dataset_id == started.default_dataset_id
    assert run.stats.resurrect_count == 1
    assert run.options.memory_mbytes == 512
    [request] = [request for request in platform.received if request.path.endswith('/resurrect')]
    assert request.query.get('restartOnError') in ('1', 'true')


# -- webhooks --------------------------------------------------------------------------------------


def test_add_webhook_creates_an_ad_hoc_webhook_of_this_run(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """The webhook is ad hoc, conditioned on this run's id, with every field sent."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    actor.add_webhook(
        Webhook(
            event_types=['ACTOR.RUN.SUCCEEDED', 'ACTOR.RUN.FAILED'],
            request_url='https://example.com/hook',
            payload_template='{"run": {{resource}}}',
            headers_template='{"X-Source": "actorkit"}',
            description='tell the backend',
        ),
        idempotency_key='hook-1',
        do_not_retry=True,
    )
    [shown] = platform.run(run_id)['webhooks']
    assert shown['isAdHoc'] is True
    assert shown['condition'] == {'actorRunId': run_id}
    assert shown['eventTypes'] == ['ACTOR.RUN.SUCCEEDED', 'ACTOR.RUN.FAILED']
    assert shown['requestUrl'] == 'https://example.com/hook'
    assert shown['payloadTemplate'] == '{"run": {{resource}}}'
    assert shown['headersTemplate'] == '{"X-Source": "actorkit"}'
    assert shown['description'] == 'tell the backend'
    assert shown['doNotRetry'] is True
    assert shown['idempotencyKey'] == 'hook-1'


def test_webhook_takes_its_fields_in_the_official_order() -> None:
    """Positional arguments land where the official SDK's Webhook puts them."""
    hook = Webhook(['ACTOR.RUN.FAILED'], 'https://example.com/h', '{}', '{}', 'key-1', True, True)
    assert hook.to_api() == {
        'eventTypes': ['ACTOR.RUN.FAILED'],
        'requestUrl': 'https://example.com/h',
        'payloadTemplate': '{}',
        'headersTemplate': '{}',
        'idempotencyKey': 'key-1',
        'ignoreSslErrors': True,
        'doNotRetry': True,
    }


def test_a_webhook_with_a_bad_url_or_no_event_is_refused_at_construction() -> None:
    """Webhook() checks its URL and event types, saying what to give."""
    with pytest.raises(ValueError, match='http'):
        Webhook(event_types=['ACTOR.RUN.SUCCEEDED'], request_url='example.com/hook')
    with pytest.raises(ValueError, match='event type'):
        Webhook(event_types=[], request_url='https://example.com/hook')


# -- the Run model ---------------------------------------------------------------------------------


def test_run_model_reads_every_field_users_need_and_is_frozen(platform: FakePlatform) -> None:
    """Run.from_api gives typed attributes (datetimes, stats, pricing, counts) and is frozen."""
    actor_id = platform.create_actor('paid', pricing_info={'page': 0.01})
    run_id = platform.start_run(actor_id=actor_id, charged_event_counts={'page': 3})
    platform.finish_run(run_id, status='SUCCEEDED', status_message='Done')
    run = Run.from_api(platform.run(run_id))
    assert run.id == run_id
    assert run.act_id == actor_id
    assert run.status == 'SUCCEEDED'
    assert run.status_message == 'Done'
    assert run.started_at.tzinfo is not None
    assert run.finished_at is not None
    assert run.finished_at >= run.started_at
    assert run.exit_code == 0
    assert run.default_dataset_id
    assert run.default_key_value_store_id
    assert run.default_request_queue_id
    assert run.stats.reboot_count == 0
    assert run.meta.origin == 'API'
    assert run.options.memory_mbytes is not None
    assert run.pricing_info is not None
    assert run.pricing_info['pricingModel'] == 'PAY_PER_EVENT'
    assert run.charged_event_counts == {'page': 3}
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        run.status = 'RUNNING'  # type: ignore[misc]


def test_run_model_says_which_run_it_cannot_read() -> None:
    """A run object without its required fields gives an error naming the run."""
    from actorkit import ApifyClientError

    with pytest.raises(ApifyClientError, match='abc123'):
        Run.from_api({'id': 'abc123', 'status': 'RUNNING'})


def test_run_model_parses_limits_as_decimal() -> None:
    """maxTotalChargeUsd is read as a Decimal (money)."""
    run = Run.from_api(
        {
            'id': 'r1',
            'actId': 'a1',
            'status': 'READY',
            'startedAt': '2026-01-02T03:04:05.678Z',
            'defaultDatasetId': 'd',
            'defaultKeyValueStoreId': 'k',
            'defaultRequestQueueId': 'q',
            'options': {'maxTotalChargeUsd': 1.25, 'timeoutSecs': 60},
            'unknownNewField': {'ignored': True},
        }
    )
    assert run.options.max_total_charge_usd == Decimal('1.25')
    assert run.started_at == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)


def test_run_model_keeps_a_run_whose_stats_cannot_be_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unreadable stats are left empty with a warning; the run itself is still returned."""
    with caplog.at_level(logging.WARNING, logger='actorkit'):
        run = Run.from_api(
            {
                'id': 'r2',
                'actId': 'a1',
                'status': 'SUCCEEDED',
                'startedAt': '2026-01-02T03:04:05Z',
                'defaultDatasetId': 'd',
                'defaultKeyValueStoreId': 'k',
                'defaultRequestQueueId': 'q',
                'stats': {'rebootCount': 'many'},
            }
        )
    assert run.status == 'SUCCEEDED'
    assert run.stats.reboot_count is None
    assert any('stats of run r2' in record.getMessage() for record in caplog.records)


# -- off the platform ------------------------------------------------------------------------------


def test_platform_only_operations_warn_once_and_return_off_the_platform(
    local_actor: Callable[..., Actor], caplog: pytest.LogCaptureFixture
) -> None:
    """metamorph, reboot and add_webhook each log one warning locally and do nothing."""
    actor = local_actor()
    persisted: list[object] = []
    actor.on(Event.PERSIST_STATE, persisted.append)
    hook = Webhook(event_types=['ACTOR.RUN.SUCCEEDED'], request_url='https://example.com/h')
    with caplog.at_level(logging.WARNING, logger='actorkit'):
        actor.metamorph('someone/else', {'a': 1})
        actor.reboot()
        actor.add_webhook(hook)
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 3
    for name, message in zip(('metamorph', 'reboot', 'add_webhook'), warnings, strict=True):
        assert f'actor.{name}()' in message
        assert 'Apify platform' in message
    assert persisted == []


def test_start_from_a_local_run_without_a_token_names_apify_token(
    local_actor: Callable[..., Actor],
) -> None:
    """start/call/abort locally without a token raise a ConfigurationError naming APIFY_TOKEN."""
    actor = local_actor()
    for operation in (
        lambda: actor.start('someone/else'),
        lambda: actor.call('someone/else'),
        lambda: actor.call_task('someone/task'),
        lambda: actor.abort('run-id'),
    ):
        with pytest.raises(ConfigurationError, match='APIFY_TOKEN'):
            operation()


def test_start_and_abort_work_from_a_local_run_with_a_token(
    local_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """With APIFY_TOKEN and the API URL set, a local run starts and aborts platform runs."""
    platform.create_actor('other')
    actor = local_actor(token=platform.token, api_base_url=platform.api_url)
    run = actor.start('other')
    assert run.status == 'RUNNING'
    assert actor.abort(run.id).status == 'ABORTED'


def test_timeout_inherit_off_the_platform_warns_and_sends_no_timeout(
    local_actor: Callable[..., Actor], platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    """Locally there is no run timeout to inherit: a warning, and the Actor's default timeout."""
    platform.create_actor('other', timeout_secs=77)
    actor = local_actor(token=platform.token, api_base_url=platform.api_url)
    with caplog.at_level(logging.WARNING, logger='actorkit'):
        run = actor.start('other', timeout='inherit')
    assert run.options.timeout_secs == 77
    [request] = [request for request in platform.received if request.path.endswith('/runs')]
    assert 'timeout' not in request.query
    assert any("'inherit'" in record.getMessage() for record in caplog.records)


def test_runs_started_from_several_threads_at_once_are_all_distinct(
    home_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """start() is safe from any thread: eight concurrent calls give eight runs."""
    platform.create_actor('other')
    actor = home_actor()
    runs: list[Run] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def start_one(index: int) -> None:
        try:
            run = actor.start('other', {'index': index})
        except BaseException as exc:
            errors.append(exc)
        else:
            with lock:
                runs.append(run)

    threads = [
        threading.Thread(target=start_one, args=(index,), name=f'test-start-{index}', daemon=True)
        for index in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
    assert not errors
    assert len({run.id for run in runs}) == 8
    inputs = sorted(
        json.loads(platform.record(run.default_key_value_store_id, 'INPUT')[0])['index']  # type: ignore[index]
        for run in runs
    )
    assert inputs == list(range(8))


def test_a_rejected_token_is_never_shown_in_the_error(
    local_actor: Callable[..., Actor], platform: FakePlatform
) -> None:
    """An API error for a wrong token= does not carry the token."""
    platform.create_actor('other')
    actor = local_actor(api_base_url=platform.api_url)
    secret = 'not-the-right-token-1234567890'
    with pytest.raises(ApifyApiError) as caught:
        actor.start('other', token=secret)
    assert caught.value.status_code == 401
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)


def test_metamorph_needs_a_running_actor_at_home(platform: FakePlatform) -> None:
    """At home, metamorph() before init() says to call actor.init() first."""
    actor = Actor(
        config=Configuration.from_env(_home_env(platform)),
        configure_logging=False,
        exit_process=False,
    )
    with pytest.raises(ActorStateError, match=r'actor\.init\(\)'):
        actor.metamorph('target')


def test_a_migrating_listener_that_reboots_reboots_once_without_an_error(
    home_actor: Callable[..., Actor], platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    """The docs' pattern (reboot from a MIGRATING listener) sends one reboot and logs no error."""
    actor = home_actor()
    run_id = str(actor.config.actor_run_id)
    calls: list[str] = []
    done = threading.Event()

    def on_migrating() -> None:
        calls.append('migrating')
        actor.reboot(custom_after_sleep=0)
        if len(calls) == 2:
            done.set()

    actor.on(Event.MIGRATING, on_migrating)
    with caplog.at_level(logging.DEBUG, logger='actorkit'):
        emit(Event.MIGRATING, actor=actor)
        assert done.wait(DEADLINE)
        wait_for_listeners(actor=actor)
    assert calls == ['migrating', 'migrating']
    assert len(_requests_to(platform, 'POST', f'/v2/actor-runs/{run_id}/reboot')) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any('called by a listener while this run reboots' in r.message for r in caplog.records)
