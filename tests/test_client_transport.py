"""The API client's transport rules: retries, timeouts, gzip, threads, errors and the token.

Faults are injected into a FakePlatform on 127.0.0.1; nothing in requests is patched.
"""

from __future__ import annotations

import gc
import gzip
import json
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from actorkit import ActorkitError
from actorkit._errors import (
    ApifyApiError,
    ApifyClientError,
    ApifyConnectionError,
    ApifyTimeoutError,
)
from actorkit.client import ApifyClient
from actorkit.testing import FakePlatform


def make_client(platform: FakePlatform, **options: object) -> ApifyClient:
    options.setdefault('min_delay_between_retries', 0.001)
    return ApifyClient(platform.token, api_url=platform.api_url, **options)  # type: ignore[arg-type]


@pytest.fixture
def client(platform: FakePlatform) -> Iterator[ApifyClient]:
    with make_client(platform) as made:
        yield made


# ---------------------------------------------------------------- retries


@pytest.mark.parametrize('status', [500, 502, 503, 504])
def test_server_errors_are_retried(
    client: ApifyClient, platform: FakePlatform, status: int
) -> None:
    """Every 5xx is retried until the call succeeds."""
    dataset_id = platform.create_dataset()
    fault = platform.inject_faults(status=status, times=3, path='/items')
    client.dataset(dataset_id).push_items({'n': 1})
    assert fault.triggered == 3
    assert platform.dataset_items(dataset_id) == [{'n': 1}]


def test_rate_limit_is_retried_after_the_retry_after_delay(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """A 429 is retried no sooner than its Retry-After says."""
    fault = platform.inject_faults(status=429, times=1, retry_after=0.3)
    started = time.monotonic()
    assert client.user().get() is not None
    assert time.monotonic() - started >= 0.3
    assert fault.triggered == 1


def test_retry_after_is_capped() -> None:
    """A Retry-After longer than a minute waits one minute."""
    from actorkit.client._http import RETRY_AFTER_CAP, _retry_after

    assert _retry_after('3600') == RETRY_AFTER_CAP == 60.0
    assert _retry_after('2') == 2.0
    assert _retry_after('Wed, 21 Oct 2015 07:28:00 GMT') is None
    assert _retry_after('-1') is None


def test_a_reset_connection_is_retried(client: ApifyClient, platform: FakePlatform) -> None:
    """A connection dropped without an answer is retried on a new connection."""
    dataset_id = platform.create_dataset()
    fault = platform.inject_faults(reset=True, times=2, path='/items')
    client.dataset(dataset_id).push_items([{'n': 1}])
    assert fault.triggered == 2
    assert platform.dataset_items(dataset_id) == [{'n': 1}]


def test_a_timed_out_attempt_is_retried(platform: FakePlatform) -> None:
    """An attempt that gets no answer in time is abandoned and retried."""
    with make_client(platform, timeout=0.5) as client:
        fault = platform.inject_faults(status=None, delay=3.0, times=1)
        started = time.monotonic()
        assert client.user().get() is not None
        assert fault.triggered == 1
        assert time.monotonic() - started < 2.9  # the held answer would take 3 s


def test_timeouts_give_up_with_an_apify_timeout_error(platform: FakePlatform) -> None:
    """When every attempt times out, ApifyTimeoutError (a TimeoutError) is raised."""
    with make_client(platform, timeout=timedelta(seconds=0.2), max_retries=1) as client:
        fault = platform.inject_faults(status=None, delay=2.0, times=2)
        with pytest.raises(ApifyTimeoutError) as caught:
            client.user().get()
        assert isinstance(caught.value, TimeoutError)
        assert 'GET /v2/users/me got no answer within 0.2 s (attempt 2)' in str(caught.value)
        assert caught.value.__cause__ is not None
        assert fault.triggered == 2


@pytest.mark.parametrize('status', [400, 401, 403, 404, 409, 413])
def test_other_client_errors_are_not_retried(
    client: ApifyClient, platform: FakePlatform, status: int
) -> None:
    """A 4xx other than 429 fails at once with ApifyApiError."""
    dataset_id = platform.create_dataset()
    fault = platform.inject_faults(status=status, times=3, path='/items')
    with pytest.raises(ApifyApiError) as caught:
        client.dataset(dataset_id).push_items({'n': 1})
    assert fault.triggered == 1
    error = caught.value
    assert error.status_code == status
    assert error.method == 'POST'
    assert error.path == f'/v2/datasets/{dataset_id}/items'
    assert error.attempt == 1
    assert error.type
    assert error.message


def test_a_real_404_says_what_was_not_found(client: ApifyClient) -> None:
    """The API's error type and message reach ApifyApiError unchanged."""
    with pytest.raises(ApifyApiError) as caught:
        client.dataset('does-not-exist').push_items({'n': 1})
    assert caught.value.status_code == 404
    assert caught.value.type == 'record-not-found'
    assert 'POST /v2/datasets/does-not-exist/items failed with HTTP 404' in str(caught.value)


def test_retries_stop_after_max_retries(platform: FakePlatform) -> None:
    """After max_retries retries the last error is raised, saying how many attempts were made."""
    with make_client(platform, max_retries=2) as client:
        fault = platform.inject_faults(status=503, times=10)
        with pytest.raises(ApifyApiError) as caught:
            client.user().get()
        assert fault.triggered == 3
        assert caught.value.status_code == 503
        assert caught.value.attempt == 3
        assert 'after 3 attempts' in str(caught.value)


def test_backoff_grows_exponentially_with_jitter(platform: FakePlatform) -> None:
    """Retries wait uniform(1, 2) x min_delay x 2^(retry - 1)."""
    with make_client(platform, min_delay_between_retries=0.05, max_retries=3) as client:
        platform.inject_faults(status=500, times=3)
        started = time.monotonic()
        client.user().get()
        elapsed = time.monotonic() - started
    assert 0.05 * (1 + 2 + 4) <= elapsed < 0.05 * 2 * (1 + 2 + 4) + 5.0


def test_an_unreachable_api_raises_apify_connection_error() -> None:
    """A refused connection is retried, then raised as ApifyConnectionError."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    client = ApifyClient(
        'tok', api_url=f'http://127.0.0.1:{port}', max_retries=1, min_delay_between_retries=0.001
    )
    with pytest.raises(ApifyConnectionError) as caught:
        client.user().get()
    assert isinstance(caught.value, ConnectionError)
    assert isinstance(caught.value, ApifyClientError)
    assert isinstance(caught.value, ActorkitError)
    assert '(attempt 2)' in str(caught.value)
    assert caught.value.__cause__ is not None
    client.close()


def test_attempt_timeouts_double_up_to_the_cap() -> None:
    """Attempt timeouts start at the tier, double per retry and never pass the cap."""
    client = ApifyClient('tok')
    assert [client._http.attempt_timeout(5, n) for n in (1, 2, 3)] == [5, 10, 20]
    assert client._http.attempt_timeout(360, 2) == 360
    capped = ApifyClient('tok', timeout=8)
    assert [capped._http.attempt_timeout(5, n) for n in (1, 2, 3)] == [5, 8, 8]


# ---------------------------------------------------------------- idempotent charges


def test_a_charge_whose_answer_was_lost_is_charged_once(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """The retry of a processed charge carries the same idempotency key: charged once."""
    run_id = platform.start_run(pricing_info={'page': 0.01})
    fault = platform.inject_faults(status=500, times=1, path='/charge', after_processing=True)
    platform.clear_received()
    client.run(run_id).charge('page', count=2)
    assert fault.triggered == 1
    assert [(c.event_name, c.count) for c in platform.charges(run_id)] == [('page', 2)]
    keys = [r.headers.get('idempotency-key') for r in platform.received_details]
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert keys[0]


def test_each_charge_call_has_its_own_idempotency_key(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """Two charge calls are two charges; a given key is used as it is."""
    run_id = platform.start_run(pricing_info={'page': 0.01})
    platform.clear_received()
    client.run(run_id).charge('page')
    client.run(run_id).charge('page')
    client.run(run_id).charge('page', idempotency_key='mine-1')
    keys = [r.headers.get('idempotency-key') for r in platform.received_details]
    assert len(set(keys)) == 3
    assert keys[2] == 'mine-1'
    assert sum(c.count for c in platform.charges(run_id)) == 3


# ---------------------------------------------------------------- gzip


def test_bodies_of_1_kib_or_more_are_gzipped(client: ApifyClient, platform: FakePlatform) -> None:
    """A body of 1 KiB or more is sent gzip-compressed; a smaller one is sent as it is."""
    dataset_id = platform.create_dataset()
    big = [{'text': 'x' * 100, 'n': n} for n in range(20)]
    platform.clear_received()
    client.dataset(dataset_id).push_items(big)
    client.dataset(dataset_id).push_items({'n': 'small'})
    pushed = [d for d in platform.received_details if d.path.endswith('/items')]
    assert pushed[0].content_encoding == 'gzip'
    assert pushed[0].raw_size < len(pushed[0].body or b'')
    assert json.loads(pushed[0].body or b'') == big
    assert pushed[1].content_encoding is None
    assert platform.dataset_items(dataset_id) == [*big, {'n': 'small'}]
    assert gzip.decompress(gzip.compress(b'x')) == b'x'


def test_already_compressed_bodies_are_not_gzipped_again(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """A large JPEG or ZIP record is sent as it is; a large SVG or text is compressed."""
    store_id = platform.create_key_value_store()
    store = client.key_value_store(store_id)
    platform.clear_received()
    payload = b'\xff' * 4096
    for key, content_type in (
        ('photo', 'image/jpeg'),
        ('archive', 'application/zip'),
        ('drawing', 'image/svg+xml'),
        ('notes', 'text/plain; charset=utf-8'),
    ):
        store.set_record(key, payload, content_type=content_type)
        assert platform.record(store_id, key) == (payload, content_type)
    encodings = [d.content_encoding for d in platform.received_details if d.method == 'PUT']
    assert encodings == [None, None, 'gzip', 'gzip']


def test_large_records_round_trip(client: ApifyClient, platform: FakePlatform) -> None:
    """A 2 MB record goes up gzipped and comes back whole."""
    store = client.key_value_store(platform.create_key_value_store())
    value = os.urandom(1024) * 2048
    store.set_record('big', value, content_type='application/octet-stream')
    assert store.get_record('big')['value'] == value


# ---------------------------------------------------------------- threads


def test_one_client_is_safe_to_share_between_threads(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """Many threads pushing through one client lose nothing and fail nothing."""
    dataset_id = platform.create_dataset()
    dataset = client.dataset(dataset_id)
    store = client.key_value_store(platform.create_key_value_store())
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait(5)
            for n in range(40):
                dataset.push_items({'worker': worker, 'n': n})
                store.set_record(f'w{worker}', {'n': n})
                assert store.get_record(f'w{worker}')['value'] == {'n': n}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    items = platform.dataset_items(dataset_id)
    assert len(items) == 320
    for worker in range(8):
        assert [i['n'] for i in items if i['worker'] == worker] == list(range(40))


def test_each_thread_keeps_one_connection(client: ApifyClient, platform: FakePlatform) -> None:
    """Calls of one thread reuse its connection; another thread gets its own."""
    connections: list[object] = []

    def record_connection() -> None:
        client.user().get()
        connections.append(client._http._connection())
        client.user().get()
        connections.append(client._http._connection())

    record_connection()
    thread = threading.Thread(target=record_connection)
    thread.start()
    thread.join(10)
    assert connections[0] is connections[1]
    assert connections[2] is connections[3]
    assert connections[0] is not connections[2]


def test_a_finished_thread_closes_its_connection(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """The connection of a thread that ended is closed; close() closes the rest."""
    thread = threading.Thread(target=client.user().get)
    thread.start()
    thread.join(10)
    client.user().get()
    deadline = time.monotonic() + 5
    while len(client._http._connections) > 1 and time.monotonic() < deadline:
        gc.collect()
    assert len(client._http._connections) == 1
    mine = client._http._connection()
    assert mine.connection is not None
    assert mine.connection.sock is not None
    client.close()
    assert mine.connection.sock is None
    assert client.user().get() is not None  # a later call reconnects


def test_a_forked_child_makes_its_own_connection(platform: FakePlatform, tmp_path) -> None:
    """After fork, the child never uses the parent's socket."""
    script = f"""
import os, sys
from actorkit.client import ApifyClient
client = ApifyClient({platform.token!r}, api_url={platform.api_url!r})
client.user().get()
parent = client._http._connection()
pid = os.fork()
if pid == 0:
    ok = client._http._connection() is not parent and client.user().get() is not None
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
client.user().get()
sys.exit(os.waitstatus_to_exitcode(status))
"""
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def test_calls_go_through_a_proxy_named_by_the_environment(
    platform: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HTTP_PROXY set, calls reach the API through the proxy (requests' own path)."""
    monkeypatch.setenv('HTTP_PROXY', platform.api_url)
    monkeypatch.delenv('NO_PROXY', raising=False)
    monkeypatch.delenv('no_proxy', raising=False)
    with ApifyClient(
        platform.token, api_url='http://api.example.invalid', min_delay_between_retries=0.001
    ) as client:
        platform.inject_faults(status=503, times=1)
        assert client.user().get()['id'] == platform.user_id
        assert client.key_value_store('missing').get() is None
        with pytest.raises(ApifyApiError) as caught:
            client.dataset('missing').push_items({})
        assert caught.value.status_code == 404
        assert client._http._connection().connection is None  # requests' Session path


# ---------------------------------------------------------------- errors and the token


def test_api_errors_pickle_with_their_fields() -> None:
    """ApifyApiError survives pickling (e.g. across processes) with every field."""
    error = ApifyApiError(
        status_code=404, type='record-not-found', message='gone', method='GET', path='/v2/x'
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status_code, copy.type, copy.message, copy.method, copy.path) == (
        404,
        'record-not-found',
        'gone',
        'GET',
        '/v2/x',
    )
    assert str(copy) == str(error)


def test_the_token_never_shows(platform: FakePlatform, caplog: pytest.LogCaptureFixture) -> None:
    """No error, repr or debug log line shows the token, even when it is part of a URL."""
    token = platform.token
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with make_client(platform, max_retries=1) as client:
        seen += [repr(client), str(client), repr(client.dataset('x')), repr(client.user())]
        store_id = platform.create_key_value_store()
        store = client.key_value_store(store_id)
        store.set_record('k', {'a': 1})
        store.get_record('k')
        seen.append(store.get_record_public_url('k'))
        # The token inside a URL: as a record key, and as a token= query of a path.
        store.set_record(token, 'v')
        assert store.get_record(token)['value'] == 'v'
        with pytest.raises(ApifyApiError) as caught:
            store.set_record(f'x?token={token}', 'v')  # an invalid key the API echoes back
        seen += [str(caught.value), repr(caught.value), caught.value.path, caught.value.message]
        with pytest.raises(ApifyApiError) as caught:
            client.dataset(token).push_items({})
        seen += [str(caught.value), repr(caught.value), caught.value.path]
        platform.inject_faults(status=503, times=2)
        with pytest.raises(ApifyApiError) as caught:
            client.dataset(token).get()
        seen += [str(caught.value), repr(caught.value)]
    with make_client(platform, max_retries=1, timeout=0.3) as hasty:
        platform.inject_faults(status=None, delay=2.0, times=2)
        with pytest.raises(ApifyTimeoutError) as timed_out:
            hasty.key_value_store(token).get()
        seen += [str(timed_out.value), repr(timed_out.value)]
    # Every logger but the fake platform's own access log (the server side, not the client).
    records = [r for r in caplog.records if not r.name.startswith('actorkit.testing')]
    seen += [record.getMessage() for record in records]
    seen += [str(record.args) for record in records]
    assert any('***' in text for text in seen)
    assert any(record.name == 'actorkit.client' for record in records)
    leaks = [text for text in seen if token in text]
    assert not leaks


def test_importing_the_client_does_not_import_requests() -> None:
    """requests and urllib3 are loaded on the first call, not by importing or building."""
    script = """
import sys
import actorkit
import actorkit.client
from actorkit.client import ApifyClient
client = ApifyClient('token')
client.dataset('x')
print('requests' in sys.modules, 'urllib3' in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, '-c', script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ['False', 'False']


def test_bad_settings_are_refused_with_a_clear_message() -> None:
    """A bad URL or a negative number is refused when the client is made."""
    with pytest.raises(ValueError, match='api_url must be an http'):
        ApifyClient('t', api_url='api.apify.com')
    with pytest.raises(ValueError, match='must not carry a query string') as caught:
        ApifyClient('secret-1', api_public_url='https://api.apify.com/?token=secret-1')
    assert 'secret-1' not in str(caught.value)
    with pytest.raises(ValueError, match='must be an http') as caught:
        ApifyClient('secret-2', api_url='api.apify.com/v2?token=secret-2')
    assert 'secret-2' not in str(caught.value)
    with pytest.raises(ValueError, match='max_retries must be 0 or more'):
        ApifyClient('t', max_retries=-1)
    with pytest.raises(ValueError, match='min_delay_between_retries must not be negative'):
        ApifyClient('t', min_delay_between_retries=-1)
    with pytest.raises(ValueError, match='timeout must be more than 0'):
        ApifyClient('t', timeout=0)
    with pytest.raises(ValueError, match='cannot be used in a URL path'):
        ApifyClient('t').key_value_store('s').get_record('..')


def test_header_values_with_line_breaks_are_refused(
    client: ApifyClient, platform: FakePlatform
) -> None:
    """A token, content type or idempotency key that would break the request is refused."""
    with pytest.raises(ValueError, match='the token has characters a token cannot have'):
        ApifyClient('abc\r\nX-Evil: 1')
    store = client.key_value_store(platform.create_key_value_store())
    with pytest.raises(ValueError, match='cannot be sent in an HTTP header'):
        store.set_record('k', b'v', content_type='text/plain\r\nX-Evil: 1')
    run = client.run(platform.start_run(pricing_info={'page': 0.01}))
    with pytest.raises(ValueError, match='idempotency-key'):
        run.charge('page', idempotency_key='a\nb')
    assert platform.charges(run.get()['id']) == []


def test_api_url_with_or_without_v2(platform: FakePlatform) -> None:
    """api_url works with or without the /v2 suffix and a trailing slash."""
    for url in (platform.api_url, platform.api_url + '/', platform.api_url + '/v2/'):
        with ApifyClient(platform.token, api_url=url) as client:
            assert client.api_url == platform.api_url
            assert client.user().get()['id'] == platform.user_id


# ---------------------------------------------------------------- TLS


@pytest.fixture
def tls_api(tmp_path) -> Iterator[tuple[str, str]]:
    """A tiny HTTPS server on 127.0.0.1 (FakePlatform speaks plain HTTP) and its CA file."""
    import http.server
    import ssl

    cert, key = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    made = subprocess.run(
        [
            'openssl',
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            str(key),
            '-out',
            str(cert),
            '-days',
            '1',
            '-subj',
            '/CN=localhost',
            '-addext',
            'subjectAltName=IP:127.0.0.1,DNS:localhost',
        ],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip('openssl cannot make a test certificate here')

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_GET(self) -> None:
            body = json.dumps({'data': {'id': 'me', 'auth': self.headers['Authorization']}})
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name='test-tls-server', daemon=True)
    thread.start()
    try:
        yield f'https://127.0.0.1:{server.server_address[1]}', str(cert)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_https_verifies_the_server_certificate(
    tls_api: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTPS the certificate is checked (against REQUESTS_CA_BUNDLE when set)."""
    url, ca_file = tls_api
    monkeypatch.delenv('CURL_CA_BUNDLE', raising=False)
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', ca_file)
    with ApifyClient('tls-token', api_url=url) as client:
        assert client.user().get() == {'id': 'me', 'auth': 'Bearer tls-token'}
        assert client.user().get() == {'id': 'me', 'auth': 'Bearer tls-token'}
    monkeypatch.delenv('REQUESTS_CA_BUNDLE')
    with ApifyClient('tls-token', api_url=url, max_retries=0) as untrusting:
        with pytest.raises(ApifyConnectionError, match='CERTIFICATE_VERIFY_FAILED'):
            untrusting.user().get()


class _ScriptedServer:
    """A raw HTTP server on 127.0.0.1 that answers each request with the next scripted bytes."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = list(answers)
        self.connections = 0
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.url = f'http://127.0.0.1:{self.listener.getsockname()[1]}'
        self.thread = threading.Thread(target=self._serve, name='test-scripted-http', daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                buffer = b''
                while self.answers:
                    while b'\r\n\r\n' not in buffer:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        buffer += chunk
                    if b'\r\n\r\n' not in buffer:
                        break  # the client closed this connection
                    _, buffer = buffer.split(b'\r\n\r\n', 1)
                    answer = self.answers.pop(0)
                    conn.sendall(answer)
                    if b'Connection: close' in answer or b'HTTP/1.0' in answer[:8]:
                        break

    def close(self) -> None:
        self.listener.close()
        self.thread.join(TIMEOUT_S)


TIMEOUT_S = 10.0


def test_answers_are_read_with_their_headers_on_every_http_framing() -> None:
    """Length, chunked (with a trailer), a 100 Continue, close, HTTP/1.0 and folded headers."""
    body = json.dumps({'data': {'ok': 1}}).encode()
    packed = gzip.compress(body)
    answers = [
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Apify-Pagination-Total:  7 \r\n'
        b'x-apify-pagination-total: 8\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body),
        b'HTTP/1.1 100 Continue\r\nX-Ignored: 1\r\n\r\n'
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n'
        b'%x\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n' % (len(packed), packed),
        b'HTTP/1.1 200 OK\r\nContent-Type: text/plain;\r\n charset=utf-8\r\nContent-Length: 2'
        b'\r\nConnection: close\r\n\r\nhi',
        b'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold',
        b'HTTP/1.1 204 No Content\r\nX-Empty: \r\n\r\n',
    ]
    server = _ScriptedServer(answers)
    client = ApifyClient(token='t', api_url=server.url, max_retries=0)
    try:
        first = client._http.call('GET', '/one')
        assert first.data == body
        assert first.headers.get('x-apify-pagination-total') == '7'  # the first, trimmed
        assert first.headers.get('CONTENT-TYPE') == 'application/json'
        assert first.headers.get('X-Missing') is None
        chunked = client._http.call('GET', '/two')
        assert (chunked.status, chunked.data) == (200, body)
        folded = client._http.call('GET', '/three')
        assert (folded.data, folded.headers.get('content-type')) == (
            b'hi',
            'text/plain; charset=utf-8',
        )
        old = client._http.call('GET', '/four')
        assert (old.data, old.headers.get('Content-Type')) == (b'old', 'text/plain')
        empty = client._http.call('GET', '/five')
        assert (empty.status, empty.data, empty.headers.get('X-Empty')) == (204, b'', '')
        assert server.connections == 3  # a new connection after each closing answer only
    finally:
        client.close()
        server.close()


def test_lean_headers_read_as_http_client_reads_them() -> None:
    """Each header's first value, all values and the items match http.client's, trimmed."""
    import http.client
    import io

    from actorkit.client._http import LeanHeaders

    block = (
        b'Content-Type: application/json; charset=utf-8\r\n'
        b'Set-Cookie: a=1\r\n'
        b'set-cookie: b=2\r\n'
        b'X-Apify-Pagination-Offset:\t10\r\n'
        b'X-Empty:\r\n'
        b'X-Latin: caf\xe9\r\n'
        b'\r\n'
    )
    lines = http.client._read_headers(io.BytesIO(block))  # type: ignore[attr-defined]
    lean = LeanHeaders(lines)
    stdlib = http.client.parse_headers(io.BytesIO(block))
    for name in ('content-type', 'SET-COOKIE', 'X-Apify-Pagination-Offset', 'X-Empty', 'X-Latin'):
        assert lean.get(name) == (stdlib.get(name) or '').strip()
        assert lean.get_all(name) == [value.strip() for value in stdlib.get_all(name) or ()]
        assert name in lean
    assert lean.get('X-None', 'default') == 'default'
    assert lean.get_all('X-None') is None
    assert 'X-None' not in lean
    assert lean.items() == [(name, value.strip()) for name, value in stdlib.items()]
