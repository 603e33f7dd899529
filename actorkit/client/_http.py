"""The HTTP layer of the API client: a connection per thread, retries, and one error boundary.

Every call of every resource client goes through :meth:`HttpClient.call`. It owns the rules:

- one connection pool per thread (``threading.local``, made on a thread's first call, closed when
  the thread ends or the client is closed; a forked child makes its own);
- per-attempt timeouts in tiers (5 s, 30 s, 360 s) that double on every retry, never above the
  client's ``timeout`` (360 s when none is given);
- retries with jittered exponential backoff on 429, every 5xx, broken connections and timeouts,
  honouring ``Retry-After``; never on another 4xx;
- request bodies of 1 KiB or more are gzip-compressed;
- library exceptions become :class:`ApifyConnectionError` / :class:`ApifyTimeoutError` here, and
  only here, chained with ``raise ... from``; error answers become :class:`ApifyApiError`;
- the token is sent in the ``Authorization`` header only and is scrubbed from every message and
  log line.

The lean path through requests (measured by ``bench/client_calls.py``): requests sets up each
thread's connection once (its ``HTTPAdapter`` builds the urllib3 pool with the TLS settings and
CA bundle; the thread takes one connection of it for itself and urllib3 connects it), and every
call is then one HTTP/1.1 exchange on that socket: the request (a head of a few ready-made,
already checked headers, and the body) goes out in one write, and ``http.client.HTTPResponse``
reads the answer whole. ``Session.request`` redoes on every call what never changes here
(merging environment settings, looking up proxies, parsing and re-encoding the URL and headers,
cookie jars, hooks, urllib3's request and response wrappers, a ``Response``), which is most of its
cost, and http.client alone writes a head and its body in two writes (two packets, two reads on
the server). When the environment names a proxy for the API, calls go through
``Session.request``, which knows proxies (tunnels, proxy authentication) best.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode, urlsplit

from actorkit._errors import ApifyApiError, ApifyConnectionError, ApifyTimeoutError
from actorkit._version import __version__

if TYPE_CHECKING:
    from http.client import HTTPConnection as _PlainConnection

    from requests import Session

logger = logging.getLogger('actorkit.client')

SHORT = 5.0
"""Base per-attempt timeout of quick calls (storage get/delete, run get/update/charge, ...)."""
MEDIUM = 30.0
"""Base per-attempt timeout of batch and list calls (push, batch add, lock head, ...)."""
LONG = 360.0
"""Base per-attempt timeout of record transfers and item listings."""
MAX_ATTEMPT_TIMEOUT = 360.0
"""The longest one attempt may take when the client has no ``timeout`` of its own."""
GZIP_MIN_BYTES = 1024
"""Bodies this long or longer are sent gzip-compressed (unless already compressed: images,
audio, video, archives)."""
RETRY_AFTER_CAP = 60.0
"""The longest wait a ``Retry-After`` header can impose before the next attempt."""

_NO_RETRY_STATUS = 300
_BODY_METHODS = frozenset({'POST', 'PUT', 'PATCH'})
_BAD_HEADER_VALUE = re.compile(r'[^\t\x20-\x7e]')
_TOKEN_QUERY = re.compile(r'(?i)((?:^|[?&;\s])token=)[^&#\s\'"]*')
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(',', ':'), allow_nan=False)

_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, 'register_at_fork'):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Response(Protocol):
    """What a successful call returns: the status, the headers and the whole body."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Headers:
        """The answer's headers, looked up case-insensitively."""
        ...

    @property
    def data(self) -> bytes: ...


class Headers(Protocol):
    """Case-insensitive header lookup."""

    def get(self, name: str, /) -> str | None: ...


class _Answer:
    __slots__ = ('data', 'headers', 'status')

    def __init__(self, status: int, headers: Headers, data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data


def to_seconds(value: float | timedelta | None, what: str) -> float | None:
    """Return ``value`` in seconds (``None`` stays ``None``); refuse negative values."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 0:
        raise ValueError(f'{what} must not be negative, got {value!r}')
    return seconds


def encode_json(value: Any, what: str) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON, or say clearly why it cannot be."""
    try:
        return _ENCODER.encode(value).encode('utf-8')
    except (TypeError, ValueError) as exc:
        raise type(exc)(f'{what} cannot be sent as JSON: {exc}') from exc


class Redactor:
    """Scrubs one token, and any ``token=`` query value, from text."""

    __slots__ = ('_token',)

    def __init__(self, token: str | None) -> None:
        self._token = token or None

    def __call__(self, text: str) -> str:
        if self._token and self._token in text:
            text = text.replace(self._token, '***')
        if 'token=' in text.lower():
            text = _TOKEN_QUERY.sub(r'\1***', text)
        return text


class _Lazy:
    """What the calls need from the libraries below, imported when the first connection is made.

    The exception classes sorted into the client's two kinds (timeouts, broken connections),
    ``http.client.HTTPResponse`` and urllib3's ``wait_for_read`` (poll where there is poll).
    """

    def __init__(self) -> None:
        from http.client import HTTPException, HTTPResponse  # noqa: PLC0415

        from requests import RequestException  # noqa: PLC0415
        from requests import Timeout as RequestsTimeout  # noqa: PLC0415
        from urllib3.exceptions import (  # noqa: PLC0415
            ConnectTimeoutError,
            HTTPError,
            NewConnectionError,
            ReadTimeoutError,
        )
        from urllib3.util.wait import wait_for_read  # noqa: PLC0415

        self.wait_for_read = wait_for_read
        self.response_class: type[HTTPResponse] = _lean_response_class() or HTTPResponse
        self.timeouts: tuple[type[Exception], ...] = (
            TimeoutError,
            ConnectTimeoutError,
            ReadTimeoutError,
            RequestsTimeout,
        )
        # urllib3 2 makes NewConnectionError a ConnectTimeoutError: a refused connection is
        # not a timeout.
        self.not_timeouts: tuple[type[Exception], ...] = (NewConnectionError,)
        self.broken: tuple[type[Exception], ...] = (
            OSError,
            HTTPException,
            HTTPError,
            RequestException,
            zlib.error,  # a gzip answer cut short
        )


_lazy: _Lazy | None = None


class LeanHeaders:
    """An answer's headers, parsed without the ``email`` package.

    What the client and ``http.client.HTTPResponse`` ask of ``HTTPMessage``: ``get`` (case-
    insensitive, the first of repeated headers, as ``HTTPMessage.get``), ``get_all``, ``items``
    and ``in``.
    """

    __slots__ = ('_first', '_items')

    def __init__(self, lines: list[bytes]) -> None:
        """Read header lines as ``http.client`` reads them (each with its line end)."""
        items: list[tuple[str, str]] = []
        for raw in lines:
            line = raw.decode('iso-8859-1').rstrip('\r\n')
            if line[:1] in (' ', '\t') and items:  # a folded line continues the header above
                name, value = items[-1]
                items[-1] = (name, f'{value} {line.strip()}'.strip())
                continue
            name, colon, value = line.partition(':')
            if colon and name and name == name.strip():
                items.append((name, value.strip(' \t')))
        self._items = items
        first: dict[str, str] = {}
        for name, value in items:
            first.setdefault(name.lower(), value)
        self._first = first

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def get_all(self, name: str, failobj: Any = None) -> Any:
        key = name.lower()
        values = [value for header, value in self._items if header.lower() == key]
        return values or failobj

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def __repr__(self) -> str:
        return f'<LeanHeaders {self._items!r}>'


def _lean_response_class() -> Any:
    """``http.client.HTTPResponse`` reading headers without the ``email`` package (or None).

    ``HTTPResponse.begin`` parses headers with ``email.parser``, most of the client's CPU on a
    small answer. This subclass does what ``begin`` does (status line, skipped 1xx answers,
    chunked, keep-alive, length) with :class:`LeanHeaders`, on the internals ``begin`` itself
    uses; where they are missing (another Python), the plain class is used.
    """
    import http.client as hc  # noqa: PLC0415

    needed = ('_read_status', '_check_close')
    if not all(hasattr(hc.HTTPResponse, name) for name in needed) or not hasattr(
        hc, '_read_headers'
    ):
        return None
    read_headers = hc._read_headers

    class LeanResponse(hc.HTTPResponse):
        def begin(self) -> None:
            begun: object = self.headers  # None until the answer is read
            if begun is not None:
                return
            while True:
                version, status, reason = self._read_status()  # type: ignore[attr-defined]
                if status != hc.CONTINUE:
                    break
                read_headers(self.fp)  # a 100 Continue's headers mean nothing here
            self.code = self.status = status
            self.reason = reason.strip()
            if version in ('HTTP/1.0', 'HTTP/0.9'):
                self.version = 10
            elif version.startswith('HTTP/1.'):
                self.version = 11
            else:
                raise hc.UnknownProtocol(version)
            headers: Any = LeanHeaders(read_headers(self.fp))
            self.headers = self.msg = headers
            encoding = headers.get('transfer-encoding')
            self.chunked = bool(encoding and encoding.lower() == 'chunked')
            self.chunk_left = None
            self.will_close = self._check_close()  # type: ignore[attr-defined]
            self.length = None
            length = headers.get('content-length')
            if length and not self.chunked:
                try:
                    self.length = int(length)
                except ValueError:
                    self.length = None
                else:
                    if self.length < 0:
                        self.length = None
            method = self._method  # type: ignore[attr-defined]
            if status in (204, 304) or 100 <= status < 200 or method == 'HEAD':
                self.length = 0
            if not self.will_close and not self.chunked and self.length is None:
                self.will_close = True

    return LeanResponse


class _Connection:
    """One thread's connection to the API, made by requests.

    Without a proxy, requests' ``HTTPAdapter`` makes the connection pool (TLS context, CA
    bundle) and the thread keeps one connection of it for itself, on which it runs plain
    ``http.client`` exchanges. With a proxy, calls go through ``Session.request``.
    """

    __slots__ = ('__weakref__', 'connection', 'generation', 'session', 'timeout')

    def __init__(self, origin: str) -> None:
        import requests  # noqa: PLC0415 - requests is loaded only once the client is used
        from requests.utils import get_environ_proxies, select_proxy  # noqa: PLC0415
        from urllib3.connection import HTTPConnection  # noqa: PLC0415

        global _lazy
        if _lazy is None:
            _lazy = _Lazy()
        self.session = requests.Session()
        self.generation = _fork_generation
        self.timeout = -1.0
        self.connection: _PlainConnection | None = None
        if select_proxy(origin, get_environ_proxies(origin)):
            return
        verify: bool | str = (
            os.environ.get('REQUESTS_CA_BUNDLE') or os.environ.get('CURL_CA_BUNDLE') or True
        )
        adapter = self.session.get_adapter(origin)
        assert isinstance(adapter, requests.adapters.HTTPAdapter)
        prepared = requests.Request('GET', origin + '/').prepare()
        get_pool = getattr(adapter, 'get_connection_with_tls_context', None)
        if get_pool is not None:
            pool = get_pool(prepared, verify, proxies={})
        else:  # requests < 2.32.2
            pool = adapter.get_connection(origin, proxies={})
        adapter.cert_verify(pool, origin, verify, None)
        # The thread owns this connection for good (it is never handed back to the pool), so no
        # pool bookkeeping runs per call. urllib3 made it: connecting and TLS are urllib3's.
        connection = pool._get_conn()
        assert isinstance(connection, HTTPConnection)
        self.connection = connection

    def close(self) -> None:
        _close(self.connection, self.session)

    def exchange(
        self,
        method: str,
        url: str,
        *,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
        seconds: float,
    ) -> _Answer:
        """Send one request and read its whole answer (no retry here).

        On the direct path the request (head and body) goes out in one write, and
        ``http.client.HTTPResponse`` reads the answer. ``headers`` are already checked (no
        CR/LF) and include ``Host``.
        """
        connection = self.connection
        if connection is None:
            headers = {name: value for name, value in headers.items() if name != 'Host'}
            response = self.session.request(
                method, url, data=body, headers=headers, timeout=seconds, allow_redirects=False
            )
            return _Answer(response.status_code, response.headers, response.content)
        head = [f'{method} {target} HTTP/1.1']
        head.extend(f'{name}: {value}' for name, value in headers.items())
        if body is not None:
            head.append(f'Content-Length: {len(body)}')
        elif method in _BODY_METHODS:
            head.append('Content-Length: 0')
        request = ('\r\n'.join(head) + '\r\n\r\n').encode('latin-1')
        if body:
            request += body
        sock = connection.sock
        if sock is not None and _is_dropped(sock):
            connection.close()  # the server closed the idle connection: open a new one
            sock = None
        try:
            if sock is None:
                connection.timeout = seconds
                connection.connect()  # urllib3 connects (and does TLS)
                sock = connection.sock
                assert sock is not None
                self.timeout = seconds
            elif seconds != self.timeout:
                sock.settimeout(seconds)
                self.timeout = seconds
            sock.sendall(request)
            assert _lazy is not None
            answer = _lazy.response_class(sock, method=method)
            answer.begin()
            data = answer.read()
            if answer.will_close:
                connection.close()
        except BaseException:
            connection.close()
            raise
        answer_headers = answer.msg
        if data and answer_headers.get('Content-Encoding') == 'gzip':
            data = zlib.decompress(data, 47)
        return _Answer(answer.status, answer_headers, data)


def _is_dropped(sock: socket.socket) -> bool:
    """Whether an idle keep-alive socket was closed (or spoke out of turn) by the server."""
    assert _lazy is not None
    try:
        return _lazy.wait_for_read(sock, timeout=0.0)
    except OSError:
        return True


class HttpClient:
    """Sends API calls with the client's retry, timeout, compression and error rules.

    Safe to share between threads: its settings never change and every thread gets its own
    connection (see :class:`_Connection`).
    """

    def __init__(
        self,
        *,
        token: str | None,
        api_url: str,
        api_public_url: str,
        max_retries: int,
        min_delay_between_retries: float,
        timeout: float | None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f'max_retries must be 0 or more, got {max_retries}')
        self.redact = Redactor(token)
        self.origin, self.base_path = self._split(api_url, 'api_url')
        public_origin, public_path = self._split(api_public_url, 'api_public_url')
        self.api_url = self.origin + self.base_path.removesuffix('/v2')
        self.public_base = public_origin + public_path
        """The public base URL with ``/v2``, for links given to others."""
        self.max_retries = max_retries
        self.min_delay = min_delay_between_retries
        self.timeout_cap = MAX_ATTEMPT_TIMEOUT if timeout is None else timeout
        if token and _BAD_HEADER_VALUE.search(token):
            raise ValueError(
                'the token has characters a token cannot have (spaces or line breaks at the '
                'ends?); copy it again from Apify Console > Settings > Integrations'
            )
        headers = {
            'Host': urlsplit(self.origin).netloc,
            'User-Agent': f'actorkit/{__version__} (ApifyClient; python-requests)',
            'Accept-Encoding': 'gzip',
        }
        if token:
            headers['Authorization'] = f'Bearer {token}'
        self._headers = headers
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()

    def _split(self, url: str, what: str) -> tuple[str, str]:
        parts = urlsplit(url.strip())
        if parts.scheme not in ('http', 'https') or not parts.netloc:
            raise ValueError(
                f'{what} must be an http(s) URL like https://api.apify.com, '
                f'got {self.redact(repr(url))}'
            )
        if parts.query or parts.fragment:
            raise ValueError(f'{what} must not carry a query string or a fragment; remove it')
        path = parts.path.rstrip('/')
        return f'{parts.scheme}://{parts.netloc}', path if path.endswith('/v2') else f'{path}/v2'

    def _connection(self) -> _Connection:
        connection: _Connection | None = getattr(self._local, 'connection', None)
        if connection is None or connection.generation != _fork_generation:
            connection = _Connection(self.origin)
            # The socket is closed when the thread ends (its local dies) or on close().
            weakref.finalize(connection, _close, connection.connection, connection.session)
            with self._lock:
                self._connections.add(connection)
            self._local.connection = connection
        return connection

    def close(self) -> None:
        """Close the connections of every thread (they reconnect on their next call)."""
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def attempt_timeout(self, base: float, attempt: int) -> float:
        """The timeout of attempt ``attempt`` (1-based) of a call whose tier is ``base``."""
        return min(base * float(2 ** (attempt - 1)), self.timeout_cap)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = SHORT,
        extra_timeout: float = 0.0,
    ) -> Response:
        """Send one API call, retrying it as the rules say, and return the successful answer.

        Args:
            method: The HTTP method.
            path: The path below ``/v2``, already percent-encoded (``/datasets/abc/items``).
            params: The query parameters (already in the API's text form).
            body: The request body, if any (compressed here when it is large).
            content_type: The body's Content-Type.
            headers: More request headers (e.g. ``idempotency-key``).
            timeout: The tier: the base timeout of the first attempt, doubled on each retry.
            extra_timeout: Seconds added to every attempt's timeout (a long poll's wait).

        Raises:
            ApifyApiError: The API answered with an error status (after the retries allowed).
            ApifyConnectionError: The API could not be reached (after the retries allowed).
            ApifyTimeoutError: No answer came in time (after the retries allowed).
        """
        full_path = self.base_path + path
        target = f'{full_path}?{urlencode(params)}' if params else full_path
        request_headers = self._headers
        if body is not None or headers:
            request_headers = request_headers.copy()
            if headers:
                for name, value in headers.items():
                    request_headers[name] = _checked_header(name, value)
            if body is not None:
                if content_type is not None:
                    request_headers['Content-Type'] = _checked_header('Content-Type', content_type)
                if len(body) >= GZIP_MIN_BYTES and _worth_compressing(content_type):
                    # Level 1: on JSON items it makes bodies ~3% bigger than level 6 in half
                    # the time (0.34 vs 0.65 us per typical item); 31: the gzip format.
                    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
                    body = packer.compress(body) + packer.flush()
                    request_headers['Content-Encoding'] = 'gzip'
        connection = self._connection()
        errors = _lazy
        assert errors is not None
        attempt = 1
        while True:
            seconds = self.attempt_timeout(timeout, attempt) + extra_timeout
            try:
                response = connection.exchange(
                    method,
                    self.origin + target,
                    target=target,
                    body=body,
                    headers=request_headers,
                    seconds=seconds,
                )
            except Exception as exc:
                error = self._translate(errors, exc, (method, full_path, attempt, seconds))
                if error is None:
                    raise
                if attempt > self.max_retries:
                    raise error from exc
                delay = self._backoff(attempt)
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        '%s %s attempt %d failed (%s); retrying in %.2f s',
                        method,
                        self.redact(full_path),
                        attempt,
                        self.redact(str(error)),
                        delay,
                    )
            else:
                status = response.status
                if status < _NO_RETRY_STATUS:
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug(
                            '%s %s -> %d (attempt %d)',
                            method,
                            self.redact(full_path),
                            status,
                            attempt,
                        )
                    return response
                if (status != 429 and status < 500) or attempt > self.max_retries:
                    raise self._api_error(response, method, full_path, attempt)
                delay = self._backoff(attempt)
                retry_after = _retry_after(response.headers.get('Retry-After'))
                if retry_after is not None:
                    delay = max(delay, retry_after)
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        '%s %s -> %d (attempt %d); retrying in %.2f s',
                        method,
                        self.redact(full_path),
                        status,
                        attempt,
                        delay,
                    )
            time.sleep(delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return random.uniform(1, 2) * self.min_delay * float(2 ** (attempt - 1))  # noqa: S311

    def _translate(
        self, errors: _Lazy, exc: Exception, call: tuple[str, str, int, float]
    ) -> ApifyConnectionError | ApifyTimeoutError | None:
        method, path, attempt, seconds = call
        where = f'{method} {self.redact(path)}'
        tries = f' (attempt {attempt})'
        if isinstance(exc, errors.timeouts) and not isinstance(exc, errors.not_timeouts):
            return ApifyTimeoutError(f'{where} got no answer within {seconds:g} s{tries}')
        if isinstance(exc, errors.broken):
            detail = self.redact(str(exc) or type(exc).__name__)
            return ApifyConnectionError(
                f'{where} failed: no answer from {self.origin}{tries}: {detail}'
            )
        return None

    def _api_error(self, response: Response, method: str, path: str, attempt: int) -> ApifyApiError:
        error_type: str | None = None
        message = ''
        try:
            payload = json.loads(response.data)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get('error'), dict):
            error_type = payload['error'].get('type')
            message = str(payload['error'].get('message') or '')
        if not message:
            text = response.data[:300].decode('utf-8', 'replace').strip()
            message = text or 'the answer had no error message'
        error = ApifyApiError(
            status_code=response.status,
            type=error_type if isinstance(error_type, str) else None,
            message=self.redact(message),
            method=method,
            path=self.redact(path),
            attempt=attempt,
        )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug('%s', error)
        return error


_COMPRESSED_PREFIXES = ('image/', 'audio/', 'video/', 'font/woff')
_RAW_EXCEPTIONS = frozenset(
    {'image/bmp', 'image/svg+xml', 'image/tiff', 'audio/wav', 'audio/x-wav'}
)
_COMPRESSED_TYPES = frozenset(
    {
        'application/gzip',
        'application/x-gzip',
        'application/zip',
        'application/x-7z-compressed',
        'application/x-bzip2',
        'application/x-xz',
        'application/zstd',
        'application/vnd.rar',
    }
)


def _worth_compressing(content_type: str | None) -> bool:
    """Whether gzip can shrink a body of this type (not a JPEG, a ZIP, a video, ...)."""
    if not content_type:
        return True
    media_type = content_type.split(';', 1)[0].strip().lower()
    if media_type in _RAW_EXCEPTIONS:
        return True
    return media_type not in _COMPRESSED_TYPES and not media_type.startswith(_COMPRESSED_PREFIXES)


def _checked_header(name: str, value: str) -> str:
    if _BAD_HEADER_VALUE.search(value):
        raise ValueError(
            f'the {name} {value!r} cannot be sent in an HTTP header (line breaks or characters '
            f'outside printable ASCII); remove them'
        )
    return value


def _close(connection: _PlainConnection | None, session: Session) -> None:
    if connection is not None:
        connection.close()
    session.close()


def _retry_after(value: str | None) -> float | None:
    """The delay a ``Retry-After`` header asks for, in seconds (its seconds form only)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if not seconds >= 0:  # negative or NaN
        return None
    return min(seconds, RETRY_AFTER_CAP)
