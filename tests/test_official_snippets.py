"""Code written for the official async SDK runs on actorkit with the ``await``s removed.

Each test is one snippet in the spirit of the official Apify SDK's documentation (its concept
pages and README, apify 4.1 / crawlee 1.x), rewritten the way its users would port it: ``async``
and ``await`` removed, ``from apify import Actor`` -> ``from actorkit import actor as Actor``,
``Request`` from ``actorkit.storages``. Each runs as a script in a fresh interpreter: locally on a
storage folder in ``tmp_path``, and at home against a :class:`~actorkit.testing.FakePlatform`
run, and the test checks what it left in storage or on the platform.

Where the official snippet itself cannot run as written (the listener of the events page passes
a model as logging's ``extra``), the port says so in a comment next to the one line that
differs.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actorkit import Actor, Configuration
from actorkit.client import ApifyClient
from actorkit.testing import FakePlatform
from tests._proxy_server import LocalProxy
from tests._subprocess import TIMEOUT, describe, run_script, start_script, wait_for_line

# -- helpers ------------------------------------------------------------------------------------


def _run(
    tmp_path: Path, source: str, env: dict[str, str] | None = None, code: int = 0
) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a script and check its exit code."""
    result = run_script(tmp_path, source, env=dict(env or {}))
    assert result.returncode == code, describe(result)
    return result


def _storage(tmp_path: Path) -> Path:
    return tmp_path / 'storage'


def _items(tmp_path: Path, dataset: str = 'default') -> list[Any]:
    """The items of a local dataset, in order."""
    folder = _storage(tmp_path) / 'datasets' / dataset
    return [
        json.loads(path.read_text(encoding='utf-8'))
        for path in sorted(folder.glob('*.json'))
        if path.name != '__metadata__.json'
    ]


def _record(tmp_path: Path, key: str, store: str = 'default') -> bytes | None:
    """The bytes of a local record, or None when it does not exist."""
    path = _storage(tmp_path) / 'key_value_stores' / store / key
    return path.read_bytes() if path.exists() else None


def _json_record(tmp_path: Path, key: str, store: str = 'default') -> Any:
    raw = _record(tmp_path, key, store)
    assert raw is not None, f'no record {key!r} in {store!r}'
    return json.loads(raw)


def _write_input(tmp_path: Path, value: Any) -> None:
    folder = _storage(tmp_path) / 'key_value_stores' / 'default'
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'INPUT.json').write_text(json.dumps(value), encoding='utf-8')


def _home(
    tmp_path: Path,
    platform: FakePlatform,
    source: str,
    *,
    code: int = 0,
    extra_env: dict[str, str] | None = None,
    **run_env: Any,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run ``source`` at home as a new run of ``platform``; return its result and environment."""
    env = platform.run_env(**run_env)
    return _run(tmp_path, source, {**env, **(extra_env or {})}, code=code), env


def _home_record(platform: FakePlatform, env: dict[str, str], key: str) -> Any:
    record = platform.record(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], key)
    assert record is not None, f'no record {key!r} in the run default store'
    return json.loads(record[0])


# -- locally ------------------------------------------------------------------------------------


def test_overview_reads_input_and_pushes_a_result(tmp_path: Path) -> None:
    """Overview (README): get_input() and push_data() inside ``with Actor:``."""
    _write_input(tmp_path, {'url': 'https://example.com'})
    _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        with Actor:
            actor_input = Actor.get_input()
            Actor.push_data({'url': actor_input['url'], 'title': 'Example Domain'})
        """,
    )
    assert _items(tmp_path) == [{'url': 'https://example.com', 'title': 'Example Domain'}]


def test_class_lifecycle_with_init_and_exit(tmp_path: Path) -> None:
    """Actor lifecycle: Actor.init() ... Actor.exit() called on the shared Actor."""
    _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        Actor.init()
        actor_input = Actor.get_input()
        Actor.log.info('Actor input: %s', actor_input)
        Actor.push_data({'message': 'Hello from Actor!', 'input': actor_input})
        Actor.set_status_message('Actor completed successfully')
        Actor.exit()
        """,
    )
    assert _items(tmp_path) == [{'message': 'Hello from Actor!', 'input': None}]


def test_instance_with_timedelta_timeouts(tmp_path: Path) -> None:
    """Actor lifecycle: an Actor(...) instance with timedelta timeouts, init() and exit()."""
    result = _run(
        tmp_path,
        """
        from datetime import timedelta

        from actorkit import Actor

        actor = Actor(
            event_listeners_timeout=timedelta(seconds=30),
            cleanup_timeout=timedelta(seconds=30),
        )
        actor.init()
        actor.push_data({'message': 'Hello from Actor!'})
        actor.set_status_message('Actor completed successfully')
        actor.exit()
        print('not reached: exit() ends a script')
        """,
    )
    assert _items(tmp_path) == [{'message': 'Hello from Actor!'}]
    assert 'not reached' not in result.stdout


@pytest.mark.parametrize(
    ('call', 'code'),
    [
        ("Actor.exit(exit_code=5, status_message='Done, with warnings')", 5),
        ("Actor.fail(exit_code=3, status_message='Input was empty')", 3),
        ('Actor.fail(exception=RuntimeError("boom"))', 1),
        ('raise RuntimeError("I am an error and I know it!")', 91),
    ],
)
def test_exit_and_fail_end_the_process_with_the_official_codes(
    tmp_path: Path, call: str, code: int
) -> None:
    """Actor lifecycle: exit()/fail() keywords and an uncaught error give the official codes."""
    _run(
        tmp_path,
        f"""
        from actorkit import actor as Actor

        with Actor:
            {call}
        """,
        code=code,
    )


def test_dataset_export_to_a_named_store_as_csv_and_json(tmp_path: Path) -> None:
    """Working with storages: Dataset.export_to() CSV and JSON into a named key-value store."""
    result = _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        with Actor:
            dataset = Actor.open_dataset(name='my-cool-dataset')
            dataset.push_data([{'itemNo': i} for i in range(1000)])
            dataset.export_to(
                content_type='csv', key='data.csv', to_kvs_name='my-cool-key-value-store'
            )
            dataset.export_to(
                content_type='json', key='data.json', to_kvs_name='my-cool-key-value-store'
            )
            store = Actor.open_key_value_store(name='my-cool-key-value-store')
            csv_data = store.get_value('data.csv')
            json_data = store.get_value('data.json')
            print(type(csv_data).__name__, type(json_data).__name__, len(json_data))
        """,
    )
    assert result.stdout.split() == ['str', 'list', '1000']
    csv_lines = (_record(tmp_path, 'data.csv', 'my-cool-key-value-store') or b'').splitlines()
    assert csv_lines[:3] == [b'itemNo', b'0', b'1']
    assert len(csv_lines) == 1001
    exported = _json_record(tmp_path, 'data.json', 'my-cool-key-value-store')
    assert exported == [{'itemNo': i} for i in range(1000)]


def test_key_value_store_read_write_delete_and_iterate_keys(tmp_path: Path) -> None:
    """Working with storages: set_value with content types, delete with None, iterate_keys."""
    result = _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        with Actor:
            kvs = Actor.open_key_value_store(name='my-cool-key-value-store')
            kvs.set_value('automatic_text', 'abcd')
            kvs.set_value('automatic_json', {'ab': 'cd'})
            kvs.set_value('explicit_csv', 'a,b\\nc,d', content_type='text/csv')
            print(repr(kvs.get_value('automatic_text')))
            print(repr(kvs.get_value('automatic_json')))
            print(repr(kvs.get_value('explicit_csv')))
            kvs.set_value('automatic_text', None)
            print(repr(kvs.get_value('automatic_text')))
            for info in kvs.iterate_keys():
                print(info.key, info.content_type.split(';')[0])
        """,
    )
    assert result.stdout.splitlines() == [
        "'abcd'",
        "{'ab': 'cd'}",
        "'a,b\\nc,d'",
        'None',
        'automatic_json application/json',
        'explicit_csv text/csv',
    ]
    assert _record(tmp_path, 'explicit_csv', 'my-cool-key-value-store') == b'a,b\nc,d'


def test_opening_storages_by_default_name_and_id(tmp_path: Path) -> None:
    """Working with storages: open the default dataset, a store by id, a queue by name."""
    _run(
        tmp_path,
        """
        from actorkit import actor as Actor
        from actorkit.storages import Request

        with Actor:
            dataset = Actor.open_dataset()
            dataset.push_data({'result': 'Hello, world!'})

            store_id = Actor.open_key_value_store(name='by-id').id
            key_value_store = Actor.open_key_value_store(id=store_id)
            key_value_store.set_value('record', 'Hello, world!')

            request_queue = Actor.open_request_queue(name='my-queue')
            request_queue.add_request(Request.from_url('https://apify.com'))
        """,
    )
    assert _items(tmp_path) == [{'result': 'Hello, world!'}]
    assert _record(tmp_path, 'record', 'by-id') == b'Hello, world!'
    assert (_storage(tmp_path) / 'request_queues' / 'my-queue').is_dir()


def test_request_queue_forefront_duplicates_and_reclaim(tmp_path: Path) -> None:
    """Working with storages: the request queue loop with forefront, duplicates and reclaim."""
    result = _run(
        tmp_path,
        """
        from actorkit import actor as Actor
        from actorkit.storages import Request

        with Actor:
            queue = Actor.open_request_queue()
            for i in range(1, 5):
                queue.add_request(Request.from_url(f'http://example.com/{i}'))
            queue.add_request(Request.from_url('http://example.com/0'), forefront=True)
            add_request_info = queue.add_request(Request.from_url('http://example.com/3'))
            print('present', add_request_info.was_already_present)

            failed_once = set()
            while not queue.is_finished():
                request = queue.fetch_next_request()
                if request is None:
                    continue
                if request.url.endswith('/2') and request.url not in failed_once:
                    failed_once.add(request.url)  # the first attempt "fails"
                    queue.reclaim_request(request)
                    continue
                Actor.push_data({'url': request.url, 'unique_key': request.unique_key})
                queue.mark_request_as_handled(request)
            print('handled', queue.get_handled_count(), 'total', queue.get_total_count())
        """,
    )
    assert result.stdout.splitlines() == ['present True', 'handled 5 total 5']
    urls = [item['url'] for item in _items(tmp_path)]
    assert urls[0] == 'http://example.com/0'
    assert sorted(urls) == [f'http://example.com/{i}' for i in range(5)]
    assert urls.index('http://example.com/2') > urls.index('http://example.com/3')


def test_persist_state_listener_saves_and_a_restart_resumes(tmp_path: Path) -> None:
    """Actor events: a PERSIST_STATE listener saves progress, off() stops it, a restart resumes."""
    source = """
        from actorkit import Event, actor as Actor
        from actorkit.testing import emit, wait_for_listeners

        with Actor:
            processed_items = 0
            actor_state = Actor.get_value('STATE')
            if actor_state is not None:
                processed_items = actor_state
            print('resuming from', processed_items)

            def save_state(event_data):
                # The docs pass the event model as logging's ``extra``, which fails in the
                # official SDK too (a model is not a mapping): log a dict instead.
                extra = {'is_migrating': event_data.is_migrating}
                Actor.log.info('Saving Actor state', extra=extra)
                Actor.set_value('STATE', processed_items)

            Actor.on(Event.PERSIST_STATE, save_state)
            for i in range(processed_items, processed_items + 10):
                processed_items = i
            emit(Event.PERSIST_STATE)  # what the platform sends every minute
            wait_for_listeners()

            Actor.off(Event.PERSIST_STATE, save_state)
            processed_items = -1  # work that is not worth saving; the final PERSIST_STATE skips it
        """
    first = _run(tmp_path, source)
    assert first.stdout.splitlines() == ['resuming from 0']
    assert _json_record(tmp_path, 'STATE') == 9
    second = _run(tmp_path, source, {'APIFY_PURGE_ON_START': '0'})
    assert second.stdout.splitlines() == ['resuming from 9']
    assert _json_record(tmp_path, 'STATE') == 18


def test_async_listeners_of_ported_code_still_run(tmp_path: Path) -> None:
    """Actor events: an ``async def`` listener left over from a port is run to completion."""
    _run(
        tmp_path,
        """
        from actorkit import Event, actor as Actor
        from actorkit.testing import emit, wait_for_listeners

        with Actor:
            async def save_state():
                Actor.set_value('STATE', 'Hello, world!')

            Actor.on(Event.PERSIST_STATE, save_state)
            emit(Event.PERSIST_STATE)
            wait_for_listeners()
        """,
    )
    assert _record(tmp_path, 'STATE') == b'Hello, world!'


def test_use_state_is_saved_at_exit_and_resumed(tmp_path: Path) -> None:
    """Actor events: use_state() is saved at exit and a restart resumes from it."""
    source = """
        from actorkit import actor as Actor

        with Actor:
            state = Actor.use_state(default_value={'processed_items': 0})
            start_index = state['processed_items']
            print('resuming from', start_index)
            for i in range(start_index, start_index + 40):
                state['processed_items'] = i + 1
        """
    assert _run(tmp_path, source).stdout.splitlines() == ['resuming from 0']
    assert _json_record(tmp_path, 'APIFY_GLOBAL_STATE') == {'processed_items': 40}
    again = _run(tmp_path, source, {'APIFY_PURGE_ON_START': '0'})
    assert again.stdout.splitlines() == ['resuming from 40']
    assert _json_record(tmp_path, 'APIFY_GLOBAL_STATE') == {'processed_items': 80}


def test_custom_proxy_function_and_rotated_proxy_urls(tmp_path: Path) -> None:
    """Proxy management: new_url_function with sessions, and proxy_urls rotated in turn."""
    result = _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        def custom_new_url_function(session_id=None, _=None):
            if session_id is not None:
                return f'http://my-custom-proxy-supporting-sessions.com?session-id={session_id}'
            return 'http://my-custom-proxy-not-supporting-sessions.com'

        with Actor:
            proxy_cfg = Actor.create_proxy_configuration(new_url_function=custom_new_url_function)
            if not proxy_cfg:
                raise RuntimeError('No proxy configuration available.')
            print(proxy_cfg.new_url('a'))
            print(proxy_cfg.new_url())

            rotated = Actor.create_proxy_configuration(
                proxy_urls=['http://proxy-1.com', 'http://proxy-2.com'],
            )
            print(*[rotated.new_url() for _ in range(3)])
            proxy_info = rotated.new_proxy_info()
            print(proxy_info.url, proxy_info.hostname, proxy_info.port)
        """,
    )
    assert result.stdout.splitlines() == [
        'http://my-custom-proxy-supporting-sessions.com?session-id=a',
        'http://my-custom-proxy-not-supporting-sessions.com',
        'http://proxy-1.com http://proxy-2.com http://proxy-1.com',
        'http://proxy-2.com proxy-2.com 80',
    ]


def test_proxy_configuration_from_the_actor_input(tmp_path: Path) -> None:
    """Proxy management: create_proxy_configuration(actor_proxy_input=...) from the input."""
    _write_input(
        tmp_path,
        {'proxySettings': {'useApifyProxy': False, 'proxyUrls': ['http://user:pass@custom:8000']}},
    )
    result = _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        with Actor:
            actor_input = Actor.get_input() or {}
            proxy_settings = actor_input.get('proxySettings')
            proxy_configuration = Actor.create_proxy_configuration(actor_proxy_input=proxy_settings)
            if not proxy_configuration:
                raise RuntimeError('No proxy configuration available.')
            print(proxy_configuration.new_url())
        """,
    )
    assert result.stdout.splitlines() == ['http://user:pass@custom:8000']


def test_pay_per_event_charges_are_logged_locally(tmp_path: Path) -> None:
    """Pay-per-event: charge() and push_data(..., event) in a local test run fill charging-log."""
    result = _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        with Actor:
            Actor.charge(event_name='init')
            result = [{'word': word} for word in ['Lorem', 'Ipsum', 'Dolor', 'Sit', 'Amet']]
            pushed = Actor.push_data(result, 'result-item')
            charged = Actor.charge(event_name='result-item', count=len(result))
            print(pushed.charged_count, charged.charged_count, charged.event_charge_limit_reached)
            manager = Actor.get_charging_manager()
            print(manager.get_pricing_info().is_pay_per_event,
                  manager.get_charged_event_count('result-item'))
        """,
        {'ACTOR_TEST_PAY_PER_EVENT': 'true'},
    )
    assert result.stdout.splitlines() == ['5 5 False', 'True 10']
    assert len(_items(tmp_path)) == 5
    log = _items(tmp_path, 'charging-log')
    assert sum(entry['charged_count'] for entry in log if entry['event_name'] == 'init') == 1
    assert (
        sum(entry['charged_count'] for entry in log if entry['event_name'] == 'result-item') == 10
    )


def test_conditional_charge_respects_max_paid_dataset_items(tmp_path: Path) -> None:
    """Pay-per-event: the conditional-charge pattern stops at ACTOR_MAX_PAID_DATASET_ITEMS."""
    _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        with Actor:
            default_dataset = Actor.open_dataset()
            charged_items = default_dataset.get_metadata().item_count
            for _ in range(3):
                if Actor.get_charging_manager().get_pricing_info().is_pay_per_event:
                    Actor.push_data({'hello': 'world'}, 'dataset-item')
                elif charged_items < (Actor.configuration.max_paid_dataset_items or 0):
                    Actor.push_data({'hello': 'world'})
                    charged_items += 1
        """,
        {'ACTOR_MAX_PAID_DATASET_ITEMS': '2'},
    )
    assert _items(tmp_path) == [{'hello': 'world'}, {'hello': 'world'}]


def test_get_env_answers_to_the_official_keys(tmp_path: Path) -> None:
    """Environment: get_env() has the official keys ('id', 'run_id', 'default_dataset_id')."""
    result = _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        with Actor:
            env = Actor.get_env()
            print(env.get('id'), env.get('run_id'), env.get('default_dataset_id'))
            print(Actor.configuration.actor_run_id, Actor.is_at_home())
        """,
        {'ACTOR_ID': 'act123', 'ACTOR_RUN_ID': 'run456', 'ACTOR_DEFAULT_DATASET_ID': 'default'},
    )
    assert result.stdout.splitlines() == ['act123 run456 default', 'run456 False']


def test_crawlee_style_storage_classes_and_options(tmp_path: Path) -> None:
    """Storages (crawlee API): open() classmethods, add_requests, get_data options, CSV kwargs."""
    result = _run(
        tmp_path,
        """
        from actorkit import actor as Actor
        from actorkit.storages import Dataset, KeyValueStore, Request, RequestQueue

        with Actor:
            rq = RequestQueue.open(name='my-queue')
            rq.add_requests([
                'https://example.com/a',
                Request.from_url('https://example.com/b', label='DETAIL', user_data={'depth': 1}),
            ])
            while (request := rq.fetch_next_request()) is not None:
                print(request.url, request.label, request.user_data.get('depth'))
                rq.mark_request_as_handled(request)

            products = Dataset.open(name='products')
            products.push_data([{'name': 'a', 'price': 1}, {'name': 'b;c', 'price': 2}])
            print(products.get_data(fields=['name'], desc=True).items)
            print(products.list_items(limit=1))
            products.export_to(key='products.csv', content_type='csv', to_kvs_name='exports',
                               delimiter=';')

            exports = KeyValueStore.open(name='exports')
            print(exports.record_exists('products.csv'), exports.record_exists('nope'))
            stats = exports.get_auto_saved_value('CRAWL_STATS', {'pages': 0})
            stats['pages'] += 3
            print(exports.get_public_url('products.csv').startswith('file://'))
        """,
    )
    assert result.stdout.splitlines() == [
        'https://example.com/a None None',
        'https://example.com/b DETAIL 1',
        "[{'name': 'b;c'}, {'name': 'a'}]",
        "[{'name': 'a', 'price': 1}]",
        'True False',
        'True',
    ]
    assert _record(tmp_path, 'products.csv', 'exports') == b'name;price\na;1\n"b;c";2\n'
    assert _json_record(tmp_path, 'CRAWL_STATS', 'exports') == {'pages': 3}


# -- at home (FakePlatform) ---------------------------------------------------------------------


def test_at_home_input_results_and_status_messages(tmp_path: Path, platform: FakePlatform) -> None:
    """Overview and status messages at home: input, results and each message reach the run."""
    _, env = _home(
        tmp_path,
        platform,
        """
        from actorkit import actor as Actor

        with Actor:
            actor_input = Actor.get_input() or {}
            Actor.set_status_message('Here we go!')
            Actor.push_data({'url': actor_input['url'], 'title': 'Example Domain'})
            Actor.set_status_message('So far so good...')
            Actor.set_status_message('Almost there...')
        """,
        input={'url': 'https://example.com'},
    )
    assert platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [
        {'url': 'https://example.com', 'title': 'Example Domain'}
    ]
    sent = [
        json.loads(request.body).get('statusMessage')
        for request in platform.received_details
        if request.method == 'PUT'
        and request.path.endswith(env['ACTOR_RUN_ID'])
        and request.body is not None
    ]
    assert sent == [
        'Here we go!',
        'So far so good...',
        'Almost there...',
        'Actor finished with exit code 0',
    ]
    run = platform.run(env['ACTOR_RUN_ID'])
    assert run['statusMessage'] == 'Actor finished with exit code 0'
    assert run['isStatusMessageTerminal'] is True


def test_at_home_call_waits_and_reads_the_other_runs_output(
    tmp_path: Path, platform: FakePlatform
) -> None:
    """Interacting with other Actors: call() waits, then its run's OUTPUT is read."""

    def screenshot(run_env: dict[str, str]) -> int:
        store = run_env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']
        platform.set_record(store, 'OUTPUT', {'screenshot': 'example.png'})
        return 0

    platform.create_actor('screenshot-url', handler=screenshot)
    result, _ = _home(
        tmp_path,
        platform,
        """
        from actorkit import actor as Actor

        with Actor:
            actor_run = Actor.call(
                actor_id='~screenshot-url',
                run_input={'url': 'http://example.com', 'delay': 10000},
            )
            if actor_run is None:
                raise RuntimeError('Actor task failed to start.')
            run_client = Actor.apify_client.run(actor_run.id)
            run_client.wait_for_finish()
            output = run_client.key_value_store().get_record('OUTPUT')
            print(actor_run.status, output['value'])
        """,
    )
    assert result.stdout.splitlines() == ["SUCCEEDED {'screenshot': 'example.png'}"]
    other_runs = [run for run in platform.runs() if run['status'] == 'SUCCEEDED']
    assert len(other_runs) == 1


def test_at_home_start_then_abort_gracefully(tmp_path: Path, platform: FakePlatform) -> None:
    """Interacting with other Actors: start() returns at once; abort(gracefully=True) stops it."""
    platform.create_actor('web-scraper')
    result, env = _home(
        tmp_path,
        platform,
        """
        from actorkit import actor as Actor

        with Actor:
            actor_run = Actor.start(
                actor_id='~web-scraper',
                run_input={'startUrls': [{'url': 'https://example.com'}]},
            )
            Actor.log.info(f'Started run {actor_run.id}')
            print(actor_run.status)
            aborted_run = Actor.abort(
                run_id=actor_run.id, gracefully=True, status_message='No longer needed'
            )
            print(aborted_run.id == actor_run.id, aborted_run.status)
        """,
    )
    started, aborted = result.stdout.splitlines()
    assert started == 'RUNNING'
    assert aborted in ('True ABORTING', 'True ABORTED')
    other = next(run for run in platform.runs() if run['id'] != env['ACTOR_RUN_ID'])
    assert other['status'] in ('ABORTING', 'ABORTED')
    assert other['statusMessage'] == 'No longer needed'


def test_at_home_webhook_with_idempotency_key_is_added_once(
    tmp_path: Path, platform: FakePlatform
) -> None:
    """Webhooks: an ad-hoc webhook keyed by the run id is added once across restarts."""
    source = """
        from actorkit import Webhook, actor as Actor

        with Actor:
            webhook = Webhook(
                event_types=['ACTOR.RUN.FAILED'],
                request_url='https://example.com/run-failed',
                idempotency_key=Actor.configuration.actor_run_id,
            )
            Actor.add_webhook(webhook)
            raise RuntimeError('I am an error and I know it!')
        """
    _, env = _home(tmp_path, platform, source, code=91)
    _run(tmp_path, source, env, code=91)  # the same run restarted (a migration)
    webhooks = platform.webhooks()
    assert len(webhooks) == 1
    assert webhooks[0]['eventTypes'] == ['ACTOR.RUN.FAILED']
    assert webhooks[0]['requestUrl'] == 'https://example.com/run-failed'
    assert webhooks[0]['condition'] == {'actorRunId': env['ACTOR_RUN_ID']}
    assert webhooks[0]['isAdHoc'] is True


def test_at_home_metamorph_hands_the_run_and_input_over(
    tmp_path: Path, platform: FakePlatform
) -> None:
    """Interacting with other Actors: metamorph() stores the new input; the target reads it."""
    platform.create_actor('web-scraper')
    _, env = _home(
        tmp_path,
        platform,
        """
        from actorkit import actor as Actor

        with Actor:
            Actor.push_data({'stage': 'before metamorph'})
            Actor.metamorph(
                '~web-scraper',
                run_input={'startUrls': [{'url': 'https://example.com'}]},
                target_actor_build='latest',
            )
        """,
        input={'original': True},
        extra_env={'APIFY_METAMORPH_AFTER_SLEEP_MILLIS': '50'},
    )
    run = platform.run(env['ACTOR_RUN_ID'])
    assert [metamorph['inputKey'] for metamorph in run['metamorphs']] == ['INPUT-METAMORPH-1']
    assert _home_record(platform, env, 'INPUT-METAMORPH-1') == {
        'startUrls': [{'url': 'https://example.com'}]
    }
    # The target Actor's process, started by the platform in the same run, reads its input.
    target_env = platform.environment(env['ACTOR_RUN_ID'])
    target = _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        with Actor:
            print(Actor.get_input())
            Actor.push_data({'stage': 'after metamorph'})
        """,
        target_env,
    )
    assert target.stdout.splitlines() == ["{'startUrls': [{'url': 'https://example.com'}]}"]
    assert platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID']) == [
        {'stage': 'before metamorph'},
        {'stage': 'after metamorph'},
    ]


def test_at_home_reboot_runs_persist_state_first(tmp_path: Path, platform: FakePlatform) -> None:
    """Actor events: reboot() runs the PERSIST_STATE listeners, then asks the platform."""
    _, env = _home(
        tmp_path,
        platform,
        """
        from actorkit import Event, actor as Actor

        with Actor:
            processed = {'items': 41}

            def save_state(event_data):
                Actor.set_value('STATE', processed)

            Actor.on(Event.PERSIST_STATE, save_state)
            Actor.reboot(custom_after_sleep=0.05)
        """,
    )
    assert len(platform.run(env['ACTOR_RUN_ID'])['reboots']) == 1
    assert _home_record(platform, env, 'STATE') == {'items': 41}


def test_at_home_push_data_stops_at_the_charge_limit(
    tmp_path: Path, platform: FakePlatform
) -> None:
    """Pay-per-event: the charge-limit check stops the loop; the platform charges within budget."""
    result, env = _home(
        tmp_path,
        platform,
        """
        from actorkit import actor as Actor

        with Actor:
            urls = [f'https://example.com/{i}' for i in range(1, 6)]
            for url in urls:
                result = {'url': url, 'data': f'Scraped data from {url}'}
                charge_result = Actor.push_data(result, 'result-item')
                if charge_result.event_charge_limit_reached:
                    Actor.log.info('Charge limit reached, stopping the Actor')
                    break
            print(Actor.get_charging_manager().calculate_total_charged_amount())
        """,
        pricing_info={'result-item': 0.2},
        max_total_charge_usd=0.5,
    )
    assert result.stdout.splitlines() == ['0.4']
    assert len(platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID'])) == 2
    assert platform.charged_usd(env['ACTOR_RUN_ID']) == Decimal('0.4')


def test_at_home_use_state_is_saved_through_the_api(tmp_path: Path, platform: FakePlatform) -> None:
    """Actor events: use_state() at home persists to the run's default key-value store."""
    _, env = _home(
        tmp_path,
        platform,
        """
        from actorkit import actor as Actor

        with Actor:
            state = Actor.use_state(default_value={'processed_items': 0})
            for i in range(state['processed_items'], 100):
                state['processed_items'] = i + 1
        """,
    )
    assert _home_record(platform, env, 'APIFY_GLOBAL_STATE') == {'processed_items': 100}


def test_at_home_request_queue_loop(tmp_path: Path, platform: FakePlatform) -> None:
    """Working with storages at home: the request queue loop, forefront first, all handled."""
    _, env = _home(
        tmp_path,
        platform,
        """
        from actorkit import actor as Actor
        from actorkit.storages import Request

        with Actor:
            queue = Actor.open_request_queue()
            for i in range(1, 4):
                queue.add_request(Request.from_url(f'http://example.com/{i}'))
            queue.add_request(Request.from_url('http://example.com/0'), forefront=True)
            while not queue.is_finished():
                request = queue.fetch_next_request()
                if request is None:
                    continue
                Actor.push_data({'url': request.url})
                queue.mark_request_as_handled(request)
        """,
    )
    urls = [item['url'] for item in platform.dataset_items(env['ACTOR_DEFAULT_DATASET_ID'])]
    assert urls == [f'http://example.com/{i}' for i in range(4)]
    requests = platform.queue_requests(env['ACTOR_DEFAULT_REQUEST_QUEUE_ID'])
    assert len(requests) == 4
    assert all(request.get('handledAt') for request in requests)


def test_at_home_apify_proxy_with_groups_and_country(
    tmp_path: Path, platform: FakePlatform
) -> None:
    """Proxy management: Apify Proxy with groups and country, password from the account."""
    proxy = LocalProxy()
    try:
        result, _ = _home(
            tmp_path,
            platform,
            """
            from actorkit import actor as Actor

            with Actor:
                proxy_cfg = Actor.create_proxy_configuration(
                    groups=['RESIDENTIAL'], country_code='US'
                )
                if not proxy_cfg:
                    raise RuntimeError('No proxy configuration available.')
                print(proxy_cfg.new_url())
                print(proxy_cfg.new_url(session_id='abc'))
            """,
            extra_env={'APIFY_PROXY_HOSTNAME': '127.0.0.1', 'APIFY_PROXY_PORT': str(proxy.port)},
        )
    finally:
        proxy.close()
    me = ApifyClient(platform.token, api_url=platform.api_url).user('me').get()
    assert me is not None
    password = me['proxy']['password']
    host = f'127.0.0.1:{proxy.port}'
    assert result.stdout.splitlines() == [
        f'http://groups-RESIDENTIAL,country-US:{password}@{host}',
        f'http://groups-RESIDENTIAL,session-abc,country-US:{password}@{host}',
    ]
    assert [user for _, user, _ in proxy.requests] == ['groups-RESIDENTIAL,country-US']


def test_at_home_new_client_and_get_env(tmp_path: Path, platform: FakePlatform) -> None:
    """Accessing the Apify API and the environment at home: user('me') and get_env() keys."""
    result, env = _home(
        tmp_path,
        platform,
        """
        from actorkit import actor as Actor

        with Actor:
            me = Actor.apify_client.user('me').get()
            env = Actor.get_env()
            print(me['username'], env['id'], env['run_id'], env['default_dataset_id'])
            print(Actor.is_at_home(), Actor.configuration.actor_run_id == env['run_id'])
        """,
    )
    assert result.stdout.splitlines() == [
        f'{platform.username} {env["ACTOR_ID"]} {env["ACTOR_RUN_ID"]} '
        f'{env["ACTOR_DEFAULT_DATASET_ID"]}',
        'True True',
    ]


def test_new_client_takes_the_official_retry_keywords(platform: FakePlatform) -> None:
    """Accessing the Apify API: new_client(max_retries=..., min_delay_between_retries=...)."""
    env = platform.run_env()
    actor = Actor(config=Configuration.from_env(env), configure_logging=False)
    client = actor.new_client(max_retries=2, min_delay_between_retries=timedelta(seconds=0.3))
    platform.inject_faults(status=503, times=2, path='/v2/users/me')
    started = time.monotonic()
    me = client.user('me').get()
    elapsed = time.monotonic() - started
    client.close()
    assert me is not None
    assert me['username'] == platform.username
    assert [path for method, path, _ in platform.received if path.endswith('/users/me')] == [
        '/v2/users/me'
    ] * 3
    assert elapsed >= 0.3 + 0.6  # two backoffs of at least 1x and 2x the first delay


def test_at_home_migrating_listener_persists_then_reboots(
    tmp_path: Path, platform: FakePlatform
) -> None:
    """Actor events: on MIGRATING, persist the state and reboot at once, as the events page says."""
    env = platform.run_env()
    process = start_script(
        tmp_path,
        """
        import threading

        from actorkit import Event, actor as Actor

        with Actor:
            rebooted = threading.Event()

            def on_migrating(event_data):
                if rebooted.is_set():
                    return  # reboot() runs the MIGRATING listeners too: this is that call
                Actor.set_value('STATE', {'saved_before_reboot': True})
                rebooted.set()
                Actor.reboot(custom_after_sleep=0.05)

            Actor.on(Event.MIGRATING, on_migrating)
            print('READY', flush=True)
            print('rebooted', rebooted.wait(30))
        """,
        env,
    )
    try:
        wait_for_line(process, 'READY')
        platform.wait_for_events_connection(env['ACTOR_RUN_ID'])
        platform.send_event(env['ACTOR_RUN_ID'], 'migrating', {'timeRemainingSecs': 30})
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.splitlines() == ['rebooted True']
    assert len(platform.run(env['ACTOR_RUN_ID'])['reboots']) == 1
    assert _home_record(platform, env, 'STATE') == {'saved_before_reboot': True}


def test_at_home_graceful_abort_runs_the_aborting_listener(
    tmp_path: Path, platform: FakePlatform
) -> None:
    """Actor events: a graceful abort sends ABORTING; its listener finishes and cleans up."""
    env = platform.run_env()
    process = start_script(
        tmp_path,
        """
        import threading

        from actorkit import Event, actor as Actor

        with Actor:
            stop = threading.Event()

            def on_aborting():
                Actor.set_value('CLEANUP', {'done': True})
                stop.set()

            Actor.on(Event.ABORTING, on_aborting)
            print('READY', flush=True)
            print('stopped', stop.wait(30))
        """,
        env,
    )
    try:
        wait_for_line(process, 'READY')
        platform.wait_for_events_connection(env['ACTOR_RUN_ID'])
        platform.send_event(env['ACTOR_RUN_ID'], 'aborting')
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.splitlines() == ['stopped True']
    assert _home_record(platform, env, 'CLEANUP') == {'done': True}


def test_at_home_start_task_and_call_task(tmp_path: Path, platform: FakePlatform) -> None:
    """Interacting with other Actors: start_task() returns at once; call_task() waits."""
    platform.create_actor('worker', handler=lambda run_env: 0)
    task_id = platform.create_task('worker', 'my-task', input={'pages': 1})
    result, _ = _home(
        tmp_path,
        platform,
        f"""
        from actorkit import actor as Actor

        with Actor:
            actor_run = Actor.start_task(task_id='{task_id}')
            Actor.log.info(f'Started task run: {{actor_run.id}}')
            finished = Actor.call_task(task_id='{task_id}', task_input={{'pages': 2}})
            print(actor_run.actor_task_id, finished.actor_task_id, finished.status)
        """,
    )
    assert result.stdout.splitlines() == [f'{task_id} {task_id} SUCCEEDED']
    task_runs = [run for run in platform.runs() if run.get('actorTaskId') == task_id]
    assert len(task_runs) == 2


def test_logging_through_actor_log(tmp_path: Path) -> None:
    """Logging: Actor.log at every level, with extra fields and a traceback, shows in the log."""
    result = _run(
        tmp_path,
        """
        from actorkit import actor as Actor

        with Actor:
            Actor.log.debug('This is a debug message')
            Actor.log.info('This is an info message')
            Actor.log.warning('This is a warning message', extra={'reason': 'Bad Actor!'})
            Actor.log.error('This is an error message')
            try:
                raise RuntimeError('Ouch!')
            except RuntimeError:
                Actor.log.exception('This is an exceptional message')
        """,
        {'APIFY_LOG_LEVEL': 'DEBUG'},
    )
    log = result.stdout + result.stderr
    for level, text in [
        ('DEBUG', 'This is a debug message'),
        ('INFO', 'This is an info message'),
        ('WARNING', 'This is a warning message'),
        ('ERROR', 'This is an error message'),
        ('ERROR', 'This is an exceptional message'),
    ]:
        assert any(level in line and text in line for line in log.splitlines()), (level, text)
    assert 'RuntimeError: Ouch!' in log


def test_at_home_binary_record_public_url_and_dataset_reads(
    tmp_path: Path, platform: FakePlatform
) -> None:
    """Working with storages at home: a PNG record and its public URL; dataset pages; export."""
    result, env = _home(
        tmp_path,
        platform,
        """
        from actorkit import actor as Actor

        with Actor:
            png = b'\\x89PNG\\r\\n\\x1a\\n' + bytes(range(256))
            Actor.set_value('screenshot', png, content_type='image/png')
            store = Actor.open_key_value_store()
            print(store.get_public_url('screenshot'))
            print(Actor.get_value('screenshot') == png)

            dataset = Actor.open_dataset()
            dataset.push_data([{'n': i} for i in range(3)])
            print(dataset.get_data(offset=1, limit=1).items, dataset.get_metadata().item_count)
            print([item['n'] for item in dataset.iterate_items(desc=True)])
            dataset.export_to(content_type='csv', key='OUTPUT.csv')
        """,
    )
    url, same, page, backwards = result.stdout.splitlines()
    assert same == 'True'
    assert page == "[{'n': 1}] 3"
    assert backwards == '[2, 1, 0]'
    store = env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID']
    assert url.startswith(f'{platform.api_url}/v2/key-value-stores/{store}/records/screenshot')
    record = platform.record(store, 'screenshot')
    assert record is not None
    assert record[1] == 'image/png'
    assert record[0].startswith(b'\x89PNG')
    exported = platform.record(store, 'OUTPUT.csv')
    assert exported is not None
    assert exported[0] == b'n\n0\n1\n2\n'
