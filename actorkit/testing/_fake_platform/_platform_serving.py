"""The request path of :class:`~actorkit.testing.FakePlatform`: record, fault, decode, route.

Each request goes: HTTP server thread -> ``_respond`` (record it, apply an injected fault,
decompress and size-check the body) -> ``_process`` (resolve path aliases, route, check the
token) -> a resource handler, under the state lock. Tests inject faults
(:meth:`~actorkit.testing.FakePlatform.inject_faults`) and read what was received
(:attr:`~actorkit.testing.FakePlatform.received`) through the methods here.
"""

from __future__ import annotations

import importlib
import logging
import re
import secrets
import threading
import zlib
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import attrs

from actorkit.testing._fake_platform._common import (
    MAX_PAYLOAD_BYTES,
    ApiError,
    Call,
    Reply,
    error_reply,
)
from actorkit.testing._fake_platform._faults import Fault, FaultBook
from actorkit.testing._fake_platform._routes import Router, canonical_path
from actorkit.testing._fake_platform._server import Answer, RawRequest

if TYPE_CHECKING:
    from actorkit.testing._fake_platform._key_value_stores import KeyValueStoresApi
    from actorkit.testing._fake_platform._request_queues import RequestQueuesApi
    from actorkit.testing._fake_platform._runs import RunsApi
    from actorkit.testing._fake_platform._state import State

__all__ = ['PlatformServing', 'Received', 'ReceivedRequest']

_log = logging.getLogger('actorkit.testing')
_SECRET_HEADERS = frozenset({'authorization', 'cookie'})


class Received(NamedTuple):
    """One request the platform received: ``(method, path, query)``.

    ``path`` is as sent (still percent-encoded, ``/v2/acts/`` not mapped); ``query`` holds the
    last value of each parameter, without ``token``.
    """

    method: str
    path: str
    query: dict[str, str]


@attrs.frozen
class ReceivedRequest:
    """One received request in detail (for checks on headers and bodies).

    Attributes:
        method: The HTTP method.
        path: The path as sent.
        query: The query parameters, without ``token``.
        headers: The headers, names lower-cased, ``Authorization`` and ``Cookie`` redacted.
        body: The body after decompression (``None`` when it could not be read or decoded).
        raw_size: The size of the body as sent.
        content_encoding: The ``Content-Encoding`` it was sent with, if any.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes | None
    raw_size: int
    content_encoding: str | None


def _unbrotli(body: bytes) -> bytes:
    """Decompress a brotli body, when a brotli package is installed (the platform takes br)."""
    for name in ('brotli', 'brotlicffi'):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        try:
            return module.decompress(body)  # type: ignore[no-any-return]
        except Exception as exc:  # each binding raises its own error type
            raise ApiError(400, 'invalid-input', f'The body is not valid br data: {exc}') from exc
    raise ApiError(
        415,
        'unsupported-content-encoding',
        'Content-Encoding "br" needs a brotli package where the FakePlatform runs: '
        'pip install brotli',
    )


def _decode_body(raw: bytes | None, encoding: str | None) -> bytes:
    """Decompress a request body; enforce the platform's size limit on the result."""
    if raw is None:
        raise ApiError(
            413,
            'request-too-large',
            f'The POST payload is too large (limit: {MAX_PAYLOAD_BYTES} bytes)',
        )
    codings = [part.strip().lower() for part in (encoding or '').split(',') if part.strip()]
    body = raw
    for coding in reversed(codings):
        if coding == 'identity':
            continue
        if coding == 'br':
            body = _unbrotli(body)
            continue
        if coding not in ('gzip', 'x-gzip', 'deflate'):
            raise ApiError(
                415,
                'unsupported-content-encoding',
                f'Content-Encoding "{coding}" is not supported.',
            )
        wbits = 16 + zlib.MAX_WBITS if coding in ('gzip', 'x-gzip') else zlib.MAX_WBITS
        try:
            inflater = zlib.decompressobj(wbits)
            body = inflater.decompress(body, 8 * MAX_PAYLOAD_BYTES)
        except zlib.error as exc:
            raise ApiError(
                400, 'invalid-input', f'The body is not valid {coding} data: {exc}'
            ) from exc
    if len(body) > MAX_PAYLOAD_BYTES:
        raise ApiError(
            413,
            'request-too-large',
            f'The POST payload is too large (limit: {MAX_PAYLOAD_BYTES} bytes, actual length: '
            f'{len(body)} bytes).',
        )
    return body


class PlatformServing:
    """Answering requests; the faults and records tests use on them: FakePlatform inherits them."""

    if TYPE_CHECKING:  # provided by FakePlatform
        _state: State
        _faults: FaultBook
        _received: list[Received]
        _received_details: list[ReceivedRequest]
        _received_lock: threading.Lock
        _router: Router
        _runs: RunsApi
        _key_value_stores: KeyValueStoresApi
        _request_queues: RequestQueuesApi

    def inject_faults(
        self,
        status: int | None = 503,
        times: int = 3,
        path: str | re.Pattern[str] | None = None,
        *,
        method: str | None = None,
        retry_after: float | None = None,
        reset: bool = False,
        delay: float | None = None,
        after_processing: bool = False,
    ) -> Fault:
        """Make the next ``times`` matching requests fail.

        Faults strike in the order they were injected; each counts only the requests it
        matches. A faulted request is not processed unless ``after_processing``.

        Args:
            status: The error status to answer with (its usual error type: 429
                ``rate-limit-exceeded``, 5xx ``internal-server-error``, ...); ``None`` answers
                normally (useful with ``delay``).
            times: How many requests fail.
            path: Only requests whose path contains this string (or matches this compiled
                regex), e.g. ``'/items'``.
            method: Only requests with this method.
            retry_after: Send ``Retry-After`` with this many seconds (with 429 or 503).
            reset: Drop the TCP connection without answering (``status`` is ignored).
            delay: Hold the answer this many seconds first (to make a client time out).
            after_processing: Process the request first, then lose the answer: the state
                changes, the client sees the failure.

        Returns:
            The fault; its ``triggered`` count says how many requests it struck.

        Raises:
            ValueError: ``times`` < 1, a bad status or a negative delay.
        """
        return self._faults.add(
            Fault(
                status=status,
                times=times,
                path=path,
                method=method,
                retry_after=retry_after,
                reset=reset,
                delay=delay,
                after_processing=after_processing,
            )
        )

    def clear_faults(self) -> None:
        """Forget every injected fault not yet used up."""
        self._faults.clear()

    def inject_unprocessed(self, count: int = 1, times: int = 1) -> None:
        """Make the next batch adds leave some requests unprocessed, as under load.

        Each of the next ``times`` batch adds puts its last ``count`` requests in
        ``unprocessedRequests`` instead of the queue.

        Raises:
            ValueError: ``count`` or ``times`` < 1.
        """
        if count < 1 or times < 1:
            raise ValueError(f'count and times must be at least 1, got {count} and {times}')
        with self._state.lock:
            self._request_queues.unprocessed_plan.extend([count] * times)

    @property
    def received(self) -> list[Received]:
        """Every request received so far, in order, as ``(method, path, query)``."""
        with self._received_lock:
            return list(self._received)

    @property
    def received_details(self) -> list[ReceivedRequest]:
        """Every request received so far with headers and bodies."""
        with self._received_lock:
            return list(self._received_details)

    def clear_received(self) -> None:
        """Forget the requests received so far."""
        with self._received_lock:
            self._received.clear()
            self._received_details.clear()

    # ------------------------------------------------------------------ serving

    def _respond(self, raw: RawRequest) -> Answer:
        split = urlsplit(raw.target)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        query_token = query.pop('token', None)
        encoding = raw.headers.get('Content-Encoding')
        headers = {
            name.lower(): ('<redacted>' if name.lower() in _SECRET_HEADERS else value)
            for name, value in raw.headers.items()
        }
        body: bytes | None = None
        try:
            body = _decode_body(raw.body, encoding)
            error: ApiError | None = None
        except ApiError as exc:
            error = exc
        with self._received_lock:
            self._received.append(Received(raw.method, path, query))
            self._received_details.append(
                ReceivedRequest(
                    raw.method,
                    path,
                    dict(query),
                    headers,
                    body,
                    len(raw.body) if raw.body is not None else -1,
                    encoding,
                )
            )
        fault = self._faults.take(raw.method, path)
        if fault is not None and not fault.after_processing:
            if fault.delay and self._state.stopping.wait(fault.delay):
                return Answer(None)
            if fault.reset:
                return Answer(None)
            fault_error = fault.error()
            if fault_error is not None:
                return Answer(error_reply(fault_error))
        if error is not None:
            reply = error_reply(error)
        else:
            reply = self._process(raw, path, query, query_token, body or b'')
        if fault is not None and fault.after_processing:
            if fault.delay and self._state.stopping.wait(fault.delay):
                return Answer(None)
            if fault.reset:
                return Answer(None)
            fault_error = fault.error()
            if fault_error is not None:
                return Answer(error_reply(fault_error))
        return Answer(reply)

    def _authorized(self, raw: RawRequest, query_token: str | None) -> bool | None:
        """True for the right token, False for a wrong one, None for none."""
        header = raw.headers.get('Authorization') or ''
        given = None
        if header.lower().startswith('bearer '):
            given = header[7:].strip()
        elif query_token:
            given = query_token
        if not given:
            return None
        return secrets.compare_digest(given.encode(), self._state.token.encode())

    def _auth_error(self, authorized: bool | None) -> ApiError:
        if authorized is None:
            return ApiError(401, 'token-not-provided', 'Authentication token was not provided')
        return ApiError(
            401,
            'user-or-token-not-found',
            'User was not found or authentication token is not valid',
        )

    def _process(
        self,
        raw: RawRequest,
        path: str,
        query: dict[str, str],
        query_token: str | None,
        body: bytes,
    ) -> Reply:
        authorized = self._authorized(raw, query_token)
        try:
            canonical = canonical_path(
                path, self._run_storages, self._last_run, query.get('status')
            )
            handler, params = self._router.find(raw.method, canonical)
        except ApiError as exc:
            return error_reply(exc if authorized else self._auth_error(authorized))
        call = Call(
            method=raw.method,
            path=canonical,
            params=params,
            query=query,
            headers=raw.headers,
            body=body,
            base_url=self._state.base_url,
        )
        if not authorized and not self._signature_opens(call):
            return error_reply(self._auth_error(authorized))
        try:
            return handler(call)
        except ApiError as exc:
            return error_reply(exc)
        except Exception:
            _log.exception('FakePlatform failed on %s %s', raw.method, path)
            return error_reply(
                ApiError(500, 'internal-server-error', 'The fake platform failed: see the log')
            )

    def _signature_opens(self, call: Call) -> bool:
        if 'signature' not in call.query or call.method not in ('GET', 'HEAD'):
            return False
        if call.path.startswith('/v2/key-value-stores/'):
            return self._key_value_stores.signature_valid(call)
        if call.path.startswith('/v2/datasets/') and call.path.endswith('/items'):
            with self._state.lock:
                dataset = self._state.datasets.get(call.params.get('storeId', ''))
                return dataset is not None and dataset.content_signature_valid(
                    call.query['signature']
                )
        return False

    def _run_storages(self, run_id: str) -> dict[str, str]:
        with self._state.lock:
            run = self._runs.find_run(run_id)
            return {
                'dataset': run.default_dataset_id,
                'key-value-store': run.default_key_value_store_id,
                'request-queue': run.default_request_queue_id,
            }

    def _last_run(self, kind: str, owner: str, status: str | None) -> str:
        with self._state.lock:
            if kind == 'actors':
                actor = self._runs.find_actor(owner)
                return self._runs.last_run(act_id=actor.id, status=status).id
            task = self._runs.find_task(owner)
            return self._runs.last_run(task_id=task.id, status=status).id
