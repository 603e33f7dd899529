"""FakePlatform over real sockets: storages, runs' environment, auth, limits and faults."""

from __future__ import annotations

import gzip
import http.client
import importlib.util
import json
import logging
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from actorkit.testing import FakePlatform
from tests._fake_platform_spec import spec_checked_platform  # noqa: F401 (its ``platform``)


def assert_on_spec(fake: FakePlatform) -> None:
    from tests._fake_platform_spec import assert_on_spec as check

    check(fake)


@pytest.fixture
def session(platform: FakePlatform) -> Iterator[requests.Session]:
    """A requests session that sends the platform's token."""
    with requests.Session() as session:
        session.headers['Authorization'] = f'Bearer {platform.token}'
        yield session


def url(platform: FakePlatform, path: str) -> str:
    return platform.api_url + path


# ----------------------------------------------------------------------------- lifecycle


def test_serves_on_an_ephemeral_localhost_port() -> None:
    """The API URL is 127.0.0.1 with a free port, and it answers only while started."""
    fake = FakePlatform()
    with pytest.raises(RuntimeError, match='not been started'):
        _ = fake.api_url
    with fake:
        parts = urlsplit(fake.api_url)
        assert parts.hostname == '127.0.0.1'
        assert parts.port
        assert fake.is_running
        response = requests.get(fake.api_url + '/v2/users/me', params={'token': fake.token})
        assert response.status_code == 200
    assert not fake.is_running
    assert_on_spec(fake)
    with pytest.raises(requests.ConnectionError):
        requests.get(fake.api_url + '/v2/users/me', timeout=2)


def test_threads_are_named_daemons_and_end_on_stop() -> None:
    """Server threads are actorkit-fake-platform-* daemons; stop() ends them, even with idle
    keep-alive connections open."""
    with FakePlatform() as fake, requests.Session() as session:
        for _ in range(3):
            session.get(fake.api_url + '/v2/users/me', params={'token': fake.token})
        names = [t for t in threading.enumerate() if t.name.startswith('actorkit-fake-platform')]
        assert names
        assert all(thread.daemon for thread in names)
        assert_on_spec(fake)
        started = time.monotonic()
    assert time.monotonic() - started < 3
    assert not [t for t in names if t.is_alive()]


def test_keeps_connections_alive() -> None:
    """Several requests travel over one HTTP/1.1 connection."""
    with FakePlatform() as fake:
        parts = urlsplit(fake.api_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        try:
            sockets = set()
            for _ in range(3):
                connection.request(
                    'GET', '/v2/users/me', headers={'Authorization': f'Bearer {fake.token}'}
                )
                response = connection.getresponse()
                assert response.status == 200
                assert json.loads(response.read())['data']['username'] == fake.username
                assert response.version == 11
                sockets.add(id(connection.sock))
            assert len(sockets) == 1
        finally:
            connection.close()
        assert_on_spec(fake)


def test_repr_never_shows_the_token() -> None:
    """The repr names the URL, never the token."""
    with FakePlatform(token='secret-token-123') as fake:
        assert 'secret-token-123' not in repr(fake)
        assert fake.api_url in repr(fake)


# ----------------------------------------------------------------------------- auth


def test_requests_without_a_valid_token_get_401(platform: FakePlatform) -> None:
    """No token and a wrong token get 401 with an error type; ?token= works too."""
    missing = requests.get(url(platform, '/v2/datasets'))
    assert missing.status_code == 401
    assert missing.json()['error']['type'] == 'token-not-provided'
    wrong = requests.get(url(platform, '/v2/datasets'), headers={'Authorization': 'Bearer nope'})
    assert wrong.status_code == 401
    assert wrong.json()['error']['type'] == 'user-or-token-not-found'
    assert requests.get(url(platform, '/v2/datasets'), params={'token': platform.token}).ok


def test_the_query_token_is_not_recorded(platform: FakePlatform) -> None:
    """Received requests keep the query without the token and headers with it redacted."""
    requests.get(url(platform, '/v2/datasets'), params={'token': platform.token, 'limit': '5'})
    requests.get(
        url(platform, '/v2/datasets'), headers={'Authorization': f'Bearer {platform.token}'}
    )
    assert platform.received[0] == ('GET', '/v2/datasets', {'limit': '5'})
    assert platform.token not in repr(platform.received_details)


def test_debug_log_never_shows_the_token(
    platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    """The request log at DEBUG redacts a ?token= query parameter."""
    with caplog.at_level(logging.DEBUG, logger='actorkit.testing'):
        requests.get(url(platform, '/v2/datasets'), params={'limit': '1', 'token': platform.token})
    assert any('/v2/datasets' in record.getMessage() for record in caplog.records)
    assert platform.token not in caplog.text


# ----------------------------------------------------------------------------- datasets


def test_dataset_get_or_create_by_name(platform: FakePlatform, session: requests.Session) -> None:
    """POST ?name= creates (201, Location) then returns the same dataset (200)."""
    created = session.post(url(platform, '/v2/datasets'), params={'name': 'results'})
    assert created.status_code == 201
    dataset = created.json()['data']
    assert created.headers['Location'].endswith(f'/v2/datasets/{dataset["id"]}')
    again = session.post(url(platform, '/v2/datasets'), params={'name': 'results'})
    assert again.status_code == 200
    assert again.json()['data']['id'] == dataset['id']
    for field in ('consoleUrl', 'itemCount', 'cleanItemCount', 'userId', 'createdAt'):
        assert field in dataset
    by_name = session.get(url(platform, f'/v2/datasets/{platform.username}~results'))
    assert by_name.json()['data']['id'] == dataset['id']


def test_storage_names_are_checked(platform: FakePlatform, session: requests.Session) -> None:
    """A name the platform refuses (a trailing hyphen, an underscore) is a 400."""
    for bad in ('ends-', 'under_score', 'x' * 64):
        response = session.post(url(platform, '/v2/key-value-stores'), params={'name': bad})
        assert response.status_code == 400, bad
        assert response.json()['error']['type'] == 'invalid-input'
    assert session.post(url(platform, '/v2/key-value-stores'), params={'name': 'A-1'}).ok


def test_dataset_list_shows_named_ones_unless_unnamed(
    platform: FakePlatform,
    session: requests.Session,
) -> None:
    """The list has named datasets only; ?unnamed=1 adds the unnamed ones."""
    session.post(url(platform, '/v2/datasets'), params={'name': 'one'})
    session.post(url(platform, '/v2/datasets'))
    named = session.get(url(platform, '/v2/datasets')).json()['data']
    assert [item['name'] for item in named['items']] == ['one']
    everything = session.get(url(platform, '/v2/datasets'), params={'unnamed': 'true'}).json()[
        'data'
    ]
    assert everything['total'] == 2
    assert {'total', 'offset', 'limit', 'desc', 'count', 'items'} <= set(everything)


def test_dataset_update_and_delete(platform: FakePlatform, session: requests.Session) -> None:
    """PUT renames; DELETE answers 204; then GET is 404 record-not-found."""
    dataset_id = platform.create_dataset()
    renamed = session.put(url(platform, f'/v2/datasets/{dataset_id}'), json={'name': 'renamed'})
    assert renamed.json()['data']['name'] == 'renamed'
    assert session.delete(url(platform, f'/v2/datasets/{dataset_id}')).status_code == 204
    missing = session.get(url(platform, f'/v2/datasets/{dataset_id}'))
    assert missing.status_code == 404
    assert missing.json()['error']['type'] == 'record-not-found'


def test_dataset_push_and_pagination_headers(
    platform: FakePlatform, session: requests.Session
) -> None:
    """Items come back with every X-Apify-Pagination-* header, offset/limit/desc applied."""
    dataset_id = platform.create_dataset()
    assert (
        session.post(url(platform, f'/v2/datasets/{dataset_id}/items'), json={'n': 0}).status_code
        == 201
    )
    session.post(
        url(platform, f'/v2/datasets/{dataset_id}/items'), json=[{'n': n} for n in range(1, 10)]
    )
    page = session.get(
        url(platform, f'/v2/datasets/{dataset_id}/items'),
        params={'offset': 2, 'limit': 3, 'desc': '1'},
    )
    assert page.json() == [{'n': 7}, {'n': 6}, {'n': 5}]
    assert page.headers['X-Apify-Pagination-Offset'] == '2'
    assert page.headers['X-Apify-Pagination-Limit'] == '3'
    assert page.headers['X-Apify-Pagination-Count'] == '3'
    assert page.headers['X-Apify-Pagination-Total'] == '10'
    assert page.headers['X-Apify-Pagination-Desc'] == 'true'
    assert platform.dataset_items(dataset_id)[:2] == [{'n': 0}, {'n': 1}]
    head = session.head(url(platform, f'/v2/datasets/{dataset_id}/items'))
    assert head.headers['X-Apify-Pagination-Total'] == '10'
    assert head.content == b''


def test_dataset_item_filters(platform: FakePlatform, session: requests.Session) -> None:
    """fields, omit, clean, skipEmpty, skipHidden, unwind and flatten shape the items."""
    dataset_id = platform.create_dataset()
    items = [
        {'a': 1, 'b': {'c': 2}, '#h': 'x', 'tags': ['t1', 't2']},
        {},
        {'#only': 'hidden'},
    ]
    session.post(url(platform, f'/v2/datasets/{dataset_id}/items'), json=items)

    def get(**params: str) -> object:
        return session.get(url(platform, f'/v2/datasets/{dataset_id}/items'), params=params).json()

    assert get(fields='b,a', limit='1') == [{'b': {'c': 2}, 'a': 1}]
    assert get(omit='b,tags,#h', limit='1') == [{'a': 1}]
    assert get(clean='1') == [{'a': 1, 'b': {'c': 2}, 'tags': ['t1', 't2']}]
    assert get(skipEmpty='true') == [items[0], items[2]]
    assert get(skipHidden='1', limit='1') == [{'a': 1, 'b': {'c': 2}, 'tags': ['t1', 't2']}]
    assert get(unwind='tags', fields='a,tags', limit='1') == [
        {'a': 1, 'tags': 't1'},
        {'a': 1, 'tags': 't2'},
    ]
    assert get(flatten='b', fields='b.c', limit='1') == [{'b.c': 2}]
    info = session.get(url(platform, f'/v2/datasets/{dataset_id}')).json()['data']
    assert (info['itemCount'], info['cleanItemCount']) == (3, 1)


def test_dataset_items_as_jsonl_and_csv(platform: FakePlatform, session: requests.Session) -> None:
    """format=jsonl and format=csv encode the items with their content types."""
    dataset_id = platform.create_dataset()
    session.post(
        url(platform, f'/v2/datasets/{dataset_id}/items'), json=[{'a': 1, 'b': 'x'}, {'a': 2}]
    )
    jsonl = session.get(
        url(platform, f'/v2/datasets/{dataset_id}/items'), params={'format': 'jsonl'}
    )
    assert jsonl.text.splitlines() == ['{"a":1,"b":"x"}', '{"a":2}']
    csv = session.get(url(platform, f'/v2/datasets/{dataset_id}/items'), params={'format': 'csv'})
    assert csv.headers['Content-Type'].startswith('text/csv')
    assert csv.text.splitlines() == ['a,b', '1,x', '2,']
    bad = session.get(url(platform, f'/v2/datasets/{dataset_id}/items'), params={'format': 'pdf'})
    assert bad.status_code == 400


def test_dataset_push_refuses_non_objects(
    platform: FakePlatform, session: requests.Session
) -> None:
    """A push of a non-object item or of bad JSON is a 400 and stores nothing."""
    dataset_id = platform.create_dataset()
    refused = session.post(url(platform, f'/v2/datasets/{dataset_id}/items'), json=[{'a': 1}, 5])
    assert refused.status_code == 400
    assert 'index 1' in refused.json()['error']['message']
    garbled = session.post(
        url(platform, f'/v2/datasets/{dataset_id}/items'),
        data=b'{nope',
        headers={'Content-Type': 'application/json'},
    )
    assert garbled.status_code == 400
    assert platform.dataset_items(dataset_id) == []


def test_gzip_bodies_are_decompressed(platform: FakePlatform, session: requests.Session) -> None:
    """A body sent with Content-Encoding: gzip is stored decompressed."""
    dataset_id = platform.create_dataset()
    body = json.dumps([{'text': 'x' * 2000}]).encode()
    response = session.post(
        url(platform, f'/v2/datasets/{dataset_id}/items'),
        data=gzip.compress(body),
        headers={'Content-Encoding': 'gzip', 'Content-Type': 'application/json'},
    )
    assert response.status_code == 201
    assert platform.dataset_items(dataset_id) == [{'text': 'x' * 2000}]
    detail = platform.received_details[-1]
    assert detail.content_encoding == 'gzip'
    assert detail.raw_size < len(body) == len(detail.body or b'')
    unknown = session.post(
        url(platform, f'/v2/datasets/{dataset_id}/items'),
        data=body,
        headers={'Content-Encoding': 'bla', 'Content-Type': 'application/json'},
    )
    assert unknown.status_code == 415
    assert unknown.json()['error']['type'] == 'unsupported-content-encoding'


@pytest.mark.skipif(
    importlib.util.find_spec('brotli') is not None, reason='brotli is installed here'
)
def test_brotli_without_the_package_says_what_to_install(
    platform: FakePlatform, session: requests.Session
) -> None:
    """A br body, when no brotli package is installed, is a 415 that names the fix."""
    dataset_id = platform.create_dataset()
    response = session.post(
        url(platform, f'/v2/datasets/{dataset_id}/items'),
        data=b'not really brotli',
        headers={'Content-Encoding': 'br', 'Content-Type': 'application/json'},
    )
    assert response.status_code == 415
    assert 'pip install brotli' in response.json()['error']['message']


def test_bodies_over_the_limit_get_413(platform: FakePlatform, session: requests.Session) -> None:
    """Over 9,437,184 bytes decompressed is 413 request-too-large, gzipped or not."""
    dataset_id = platform.create_dataset()
    items = json.dumps([{'text': 'y' * 9_437_184}]).encode()
    plain = session.post(
        url(platform, f'/v2/datasets/{dataset_id}/items'),
        data=items,
        headers={'Content-Type': 'application/json'},
    )
    assert plain.status_code == 413
    assert plain.json()['error']['type'] == 'request-too-large'
    zipped = session.post(
        url(platform, f'/v2/datasets/{dataset_id}/items'),
        data=gzip.compress(items),
        headers={'Content-Encoding': 'gzip', 'Content-Type': 'application/json'},
    )
    assert zipped.status_code == 413
    just_fits = json.dumps({'t': 'z' * (9_437_184 - 9)}).encode()
    assert len(just_fits) == 9_437_184
    fits = session.post(
        url(platform, f'/v2/datasets/{dataset_id}/items'),
        data=just_fits,
        headers={'Content-Type': 'application/json'},
    )
    assert fits.status_code == 201
    assert len(platform.dataset_items(dataset_id)) == 1


# ----------------------------------------------------------------------------- key-value stores


def test_records_keep_their_content_type(platform: FakePlatform, session: requests.Session) -> None:
    """PUT stores bytes and Content-Type; GET and HEAD give them back; DELETE removes."""
    store_id = platform.create_key_value_store('files')
    record = url(platform, f'/v2/key-value-stores/{store_id}/records/pic.png')
    put = session.put(record, data=b'\x89PNG', headers={'Content-Type': 'image/png'})
    assert put.status_code == 201
    got = session.get(record)
    assert (got.content, got.headers['Content-Type']) == (b'\x89PNG', 'image/png')
    head = session.head(record)
    assert head.status_code == 200
    assert head.headers['Content-Length'] == '4'
    assert platform.record('files', 'pic.png') == (b'\x89PNG', 'image/png')
    assert session.delete(record).status_code == 204
    missing = session.get(record)
    assert missing.status_code == 404
    assert missing.json()['error']['type'] == 'record-not-found'
    assert session.head(record).status_code == 404
    assert platform.record(store_id, 'pic.png') is None


def test_record_keys_are_checked(platform: FakePlatform, session: requests.Session) -> None:
    """A key with characters the platform refuses is a 400."""
    store_id = platform.create_key_value_store()
    response = session.put(
        url(platform, f'/v2/key-value-stores/{store_id}/records/a%20b'),
        data=b'x',
        headers={'Content-Type': 'text/plain'},
    )
    assert response.status_code == 400
    assert response.json()['error']['type'] == 'invalid-record-key'


def test_keys_page_with_exclusive_start_key_and_prefix(
    platform: FakePlatform,
    session: requests.Session,
) -> None:
    """Keys come sorted in pages; nextExclusiveStartKey continues; prefix filters."""
    store_id = platform.create_key_value_store()
    for key in ('b', 'a', 'c', 'pre-1', 'pre-2'):
        platform.set_record(store_id, key, {'k': key})
    keys = url(platform, f'/v2/key-value-stores/{store_id}/keys')
    first = session.get(keys, params={'limit': 2}).json()['data']
    assert [item['key'] for item in first['items']] == ['a', 'b']
    assert first['isTruncated'] is True
    assert first['nextExclusiveStartKey'] == 'b'
    assert first['items'][0]['size'] == len(b'{"k": "a"}')
    assert first['items'][0]['recordPublicUrl'].startswith(platform.api_url)
    rest = session.get(keys, params={'exclusiveStartKey': 'b'}).json()['data']
    assert [item['key'] for item in rest['items']] == ['c', 'pre-1', 'pre-2']
    assert (rest['isTruncated'], rest['nextExclusiveStartKey']) == (False, None)
    assert rest['exclusiveStartKey'] == 'b'
    prefixed = session.get(keys, params={'prefix': 'pre-'}).json()['data']
    assert prefixed['count'] == 2


def test_public_record_url_opens_without_a_token(
    platform: FakePlatform,
    session: requests.Session,
) -> None:
    """The signed recordPublicUrl of a key works without a token; a bad signature does not."""
    store_id = platform.create_key_value_store()
    platform.set_record(store_id, 'shared', 'hello')
    keys = session.get(url(platform, f'/v2/key-value-stores/{store_id}/keys')).json()['data']
    public = keys['items'][0]['recordPublicUrl']
    assert requests.get(public).text == 'hello'
    assert requests.get(public.split('?')[0], params={'signature': 'forged'}).status_code == 401


# ----------------------------------------------------------------------------- runs' environment


def test_run_env_describes_a_running_run(platform: FakePlatform, session: requests.Session) -> None:
    """run_env creates a RUNNING run with default storages and the input, and says so."""
    env = platform.run_env(input={'q': 1}, memory_mbytes=2048, timeout_secs=600)
    assert all(isinstance(value, str) for value in env.values())
    assert env['APIFY_IS_AT_HOME'] == '1'
    assert env['APIFY_TOKEN'] == platform.token
    assert env['APIFY_API_BASE_URL'] == platform.api_url
    assert env['APIFY_API_PUBLIC_BASE_URL'] == platform.api_url
    assert env['ACTOR_MEMORY_MBYTES'] == '2048'
    assert env['ACTOR_INPUT_KEY'] == 'INPUT'
    assert env['APIFY_USER_ID'] == platform.user_id
    run = platform.run(env['ACTOR_RUN_ID'])
    assert run['status'] == 'RUNNING'
    assert run['actId'] == env['ACTOR_ID']
    assert run['buildId'] == env['ACTOR_BUILD_ID']
    assert run['buildNumber'] == env['ACTOR_BUILD_NUMBER']
    assert run['defaultDatasetId'] == env['ACTOR_DEFAULT_DATASET_ID']
    assert run['options']['memoryMbytes'] == 2048
    assert run['options']['timeoutSecs'] == 600
    assert run['startedAt'] == env['ACTOR_STARTED_AT']
    assert env['ACTOR_TIMEOUT_AT'] > env['ACTOR_STARTED_AT']
    assert platform.record(env['ACTOR_DEFAULT_KEY_VALUE_STORE_ID'], 'INPUT') == (
        b'{"q": 1}',
        'application/json; charset=utf-8',
    )
    via_run = session.get(
        url(platform, f'/v2/actor-runs/{env["ACTOR_RUN_ID"]}/key-value-store/records/INPUT')
    )
    assert via_run.json() == {'q': 1}
    assert session.get(url(platform, '/v2/datasets/' + env['ACTOR_DEFAULT_DATASET_ID'])).ok


def test_run_env_with_pricing_sets_the_charging_variables(platform: FakePlatform) -> None:
    """Pricing, budget and already-charged counts reach the environment and the run object."""
    env = platform.run_env(
        pricing_info={'result': 0.01},
        max_total_charge_usd=1.5,
        charged_event_counts={'result': 3},
    )
    pricing = json.loads(env['APIFY_ACTOR_PRICING_INFO'])
    event = pricing['pricingPerEvent']['actorChargeEvents']['result']
    assert pricing['pricingModel'] == 'PAY_PER_EVENT'
    assert {'apifyMarginPercentage', 'createdAt', 'startedAt'} <= set(pricing)
    assert (event['eventPriceUsd'], event['eventTitle'], event['eventDescription']) == (
        0.01,
        'result',
        'result',
    )
    assert json.loads(env['APIFY_CHARGED_ACTOR_EVENT_COUNTS']) == {'result': 3}
    assert env['ACTOR_MAX_TOTAL_CHARGE_USD'] == '1.5'
    run = platform.run(env['ACTOR_RUN_ID'])
    assert run['pricingInfo'] == pricing
    assert run['chargedEventCounts'] == {'result': 3}
    assert run['options']['maxTotalChargeUsd'] == 1.5
    with pytest.raises(ValueError, match='price'):
        platform.run_env(pricing_info={'result': 'cheap'})


# ----------------------------------------------------------------------------- faults


def test_injected_faults_fail_the_next_matching_requests(
    platform: FakePlatform,
    session: requests.Session,
) -> None:
    """The next N requests matching path and method fail with the status; then it heals."""
    dataset_id = platform.create_dataset()
    fault = platform.inject_faults(status=503, times=2, path='/items', method='POST')
    items = url(platform, f'/v2/datasets/{dataset_id}/items')
    assert session.get(items).status_code == 200
    assert [session.post(items, json={'a': 1}).status_code for _ in range(3)] == [503, 503, 201]
    assert fault.triggered == 2
    assert fault.remaining == 0
    assert platform.dataset_items(dataset_id) == [{'a': 1}]


def test_rate_limit_fault_sends_retry_after(
    platform: FakePlatform, session: requests.Session
) -> None:
    """A 429 fault carries rate-limit-exceeded and the Retry-After header."""
    platform.inject_faults(status=429, times=1, retry_after=2)
    response = session.get(url(platform, '/v2/datasets'))
    assert response.status_code == 429
    assert response.headers['Retry-After'] == '2'
    assert response.json()['error']['type'] == 'rate-limit-exceeded'


def test_reset_fault_drops_the_connection(
    platform: FakePlatform, session: requests.Session
) -> None:
    """A reset fault closes the connection without an answer; the next request works."""
    platform.inject_faults(reset=True, times=1)
    with pytest.raises(requests.ConnectionError):
        session.get(url(platform, '/v2/datasets'))
    assert session.get(url(platform, '/v2/datasets')).ok


def test_after_processing_fault_changes_state_then_fails(
    platform: FakePlatform,
    session: requests.Session,
) -> None:
    """With after_processing the push is stored, yet the client sees a 500 (or a reset)."""
    dataset_id = platform.create_dataset()
    items = url(platform, f'/v2/datasets/{dataset_id}/items')
    platform.inject_faults(status=500, times=1, after_processing=True)
    assert session.post(items, json={'a': 1}).status_code == 500
    platform.inject_faults(reset=True, times=1, after_processing=True)
    with pytest.raises(requests.ConnectionError):
        session.post(items, json={'a': 2})
    assert platform.dataset_items(dataset_id) == [{'a': 1}, {'a': 2}]


def test_delay_fault_makes_a_client_time_out(
    platform: FakePlatform, session: requests.Session
) -> None:
    """A delay holds the answer long enough for a client timeout."""
    platform.inject_faults(status=None, delay=2, times=1)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        session.get(url(platform, '/v2/datasets'), timeout=0.2)
    assert time.monotonic() - started < 1.5
    assert session.get(url(platform, '/v2/datasets'), timeout=5).ok


def test_fault_arguments_are_checked(platform: FakePlatform) -> None:
    """Nonsense fault settings are refused with a clear error."""
    with pytest.raises(ValueError, match='times'):
        platform.inject_faults(times=0)
    with pytest.raises(ValueError, match='status'):
        platform.inject_faults(status=42)


# ----------------------------------------------------------------------------- spec check


def test_off_spec_requests_are_detected() -> None:
    """The spec check knows real operations, the /v2/acts/ alias, and rejects others."""
    from tests._fake_platform_spec import off_spec

    assert off_spec([('GET', '/v2/datasets/abc/items'), ('POST', '/v2/acts/a~b/runs')]) == []
    assert off_spec([('PATCH', '/v2/datasets/abc'), ('GET', '/v2/nothing')]) == [
        ('PATCH', '/v2/datasets/abc'),
        ('GET', '/v2/nothing'),
    ]
