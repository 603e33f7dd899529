"""A request queue on the platform, shared safely by any number of consumers.

Each client instance has its own client key, so the platform tells its locks from those of
other threads' and processes' clients:

- :meth:`fetch_next_request` takes requests from the head of the queue with head-and-lock
  (``POST .../head/lock``, up to 25 at a time), keeps the ones it did not hand out yet in a
  local head, and hands each out with enough lock time left (prolonging a lock that is past its
  half). A request whose lock ran out while it waited in the local head is dropped from it:
  another consumer may have it now.
- While a request is in progress, the daemon thread ``actorkit-rq-lock-prolong`` wakes every
  sixth of the lock length and prolongs each lock with less than two thirds left, so a slow
  handler keeps its request; if the process dies, the lock runs out and the request is served
  again to another consumer. The lock length is ``ACTORKIT_REQUEST_QUEUE_LOCK_SECS`` (180 s,
  the official SDK's): how long the requests of a dead consumer wait.
- :meth:`mark_request_as_handled` updates the request with ``handledAt``;
  :meth:`reclaim_request` updates it (and its ``forefront``) and deletes its lock, so it can
  be fetched again at once.
- :meth:`close` stops the thread and deletes the locks of every request still held.

As in the official SDK, the client remembers what it added and what it saw handled: adding a
request it already added costs no call, and :meth:`is_finished` re-reads by id only the
requests it knows of that it has not yet seen handled. A failure of the API (after the API
client's retries) reaches the caller as the API error.

It also keeps the full data of the requests it added or last wrote (up to
:data:`_CACHE_LIMIT`), so handing out a locked request costs no call when nobody else can have
changed it: the platform says the queue never had another client (``hadMultipleClients``) and
the head item still shows what this client wrote (unique key, URL, method, retry count, not
handled). Otherwise the request is read back by id before it is handed out.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from actorkit._errors import ApifyApiError, StorageError
from actorkit._threads import THREAD_PREFIX
from actorkit.storages._platform._common import (
    count,
    format_timestamp,
    is_not_found,
    missing_storage,
    timestamp,
    utc_now,
)
from actorkit.storages._request_models import (
    ProcessedRequest,
    Request,
    RequestQueueMetadata,
    request_id_from_unique_key,
)

if TYPE_CHECKING:
    from actorkit.client import ApifyClient

_log = logging.getLogger('actorkit.storage')

DEFAULT_LOCK_SECS = 180
"""How long a fetched request stays locked without being prolonged (the official SDK's 3 min)."""

PROLONG_THREAD_NAME = f'{THREAD_PREFIX}rq-lock-prolong'
"""The name of the thread that keeps the locks of requests in progress."""

_HEAD_LIMIT = 25
"""How many requests one head-and-lock call takes (as the official SDK)."""

_ID_LENGTH = 15
_ID_CHARS = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')

_CACHE_LIMIT = 100_000
"""The most requests whose full data a client keeps (the oldest are forgotten first)."""

_LOST_LOCK_STATUSES = frozenset({403, 404, 409})
"""Statuses with which the platform says a lock is not (or no longer) this client's."""


def request_to_api(request: Request, *, with_id: bool) -> dict[str, Any]:
    """Write a request as the API takes it (camelCase)."""
    data: dict[str, Any] = {
        'uniqueKey': request.unique_key,
        'url': request.url,
        'method': request.method,
        'payload': request.payload,
        'headers': dict(request.headers),
        'userData': dict(request.user_data),
        'retryCount': request.retry_count,
        'noRetry': request.no_retry,
        'loadedUrl': request.loaded_url,
        'handledAt': None if request.handled_at is None else format_timestamp(request.handled_at),
    }
    if with_id:
        data['id'] = request.id
    return data


def request_from_api(data: dict[str, Any]) -> Request:
    """Read a request as the API returns it.

    Raises:
        StorageError: The platform's object has no URL or unique key.
    """
    url = data.get('url')
    unique_key = data.get('uniqueKey')
    if not isinstance(url, str) or not isinstance(unique_key, str):
        raise StorageError(
            f'the platform returned a request without "url" or "uniqueKey": {data!r:.200}'
        )
    handled_at = data.get('handledAt')
    payload = data.get('payload')
    return Request(
        url=url,
        unique_key=unique_key,
        id=str(data.get('id') or request_id_from_unique_key(unique_key)),
        method=str(data.get('method') or 'GET'),
        payload=payload if isinstance(payload, str) or payload is None else str(payload),
        headers={str(k): str(v) for k, v in (data.get('headers') or {}).items()},
        user_data=dict(data.get('userData') or {}),
        retry_count=int(data.get('retryCount') or 0),
        no_retry=bool(data.get('noRetry')),
        loaded_url=data.get('loadedUrl'),
        handled_at=None if handled_at is None else timestamp(data, 'handledAt'),
    )


def _detached(data: dict[str, Any]) -> dict[str, Any]:
    """Copy a request in API form so that no container is shared with the original."""
    copy = dict(data)
    copy['headers'] = dict(data.get('headers') or {})
    user_data = data.get('userData') or {}
    nested = any(isinstance(value, (dict, list, tuple)) for value in user_data.values())
    # User data is JSON (checked when the request was added or written): a round trip copies it.
    copy['userData'] = json.loads(json.dumps(user_data)) if nested else dict(user_data)
    return copy


def _head_matches(item: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether a head item shows the request as ``data`` (what this client wrote) has it."""
    return (
        item.get('handledAt') is None
        and data.get('handledAt') is None
        and item.get('uniqueKey') == data.get('uniqueKey')
        and item.get('url') == data.get('url')
        and (item.get('method') or 'GET') == (data.get('method') or 'GET')
        and int(item.get('retryCount') or 0) == int(data.get('retryCount') or 0)
    )


def _looks_like_id(value: str) -> bool:
    return len(value) == _ID_LENGTH and all(char in _ID_CHARS for char in value)


class _Held:
    """A request this client holds the lock of."""

    __slots__ = ('busy', 'expires')

    def __init__(self, expires: float) -> None:
        self.expires = expires
        """When the lock runs out (``time.monotonic()``), as this client knows it."""
        self.busy = threading.Lock()
        """Held while the lock is prolonged, or the request is being marked or reclaimed."""


class PlatformRequestQueueClient:
    """One consumer (and producer) of a request queue on the platform; see the module docstring.

    Thread-safe: threads of one process may share it, and each gets distinct requests.
    """

    def __init__(
        self,
        api: ApifyClient,
        metadata: dict[str, Any],
        *,
        lock_secs: int = DEFAULT_LOCK_SECS,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        """Wrap the queue ``metadata['id']``.

        Args:
            api: The run's API client.
            metadata: The queue as the API returned it when it was opened.
            lock_secs: How long a fetched request stays locked if this client stops
                prolonging it (e.g. its process died); at least 1.
            on_drop: Called after the queue is deleted, so the backend forgets it.
        """
        self._id = str(metadata['id'])
        self._name: str | None = metadata.get('name') or None
        self._client_key = secrets.token_hex(16)  # the API takes at most 32 characters
        self._resource = api.request_queue(self._id, client_key=self._client_key)
        self._lock_secs = max(1, int(lock_secs))
        self._on_drop = on_drop
        self._mutex = threading.Lock()
        """Guards the fields below; never held during an API call."""
        self._fetch_lock = threading.Lock()
        """One head refill (and hand-out decision) at a time."""
        self._head: OrderedDict[str, float] = OrderedDict()
        """Requests locked by head-and-lock, not handed out yet: id -> lock expiry."""
        self._written: dict[str, dict[str, Any]] = {}
        """Requests this client added or last wrote: id -> the request as sent (API form)."""
        self._head_trusted: set[str] = set()
        """Requests of the local head whose cached data the platform's head item confirmed."""
        self._in_progress: dict[str, _Held] = {}
        self._known: dict[str, bool] = {}
        """Requests this client added or saw: id -> whether it knows them handled."""
        self._check_forefront = False
        self._adding = 0
        """How many add_requests calls are sending requests now."""
        self._locked_elsewhere: bool | None = None
        self._handled_delta = 0
        self._total_delta = 0
        self._base_counts = (
            count(metadata, 'handledRequestCount'),
            count(metadata, 'totalRequestCount'),
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        self._closed = False

    def __repr__(self) -> str:
        return f'<PlatformRequestQueueClient id={self._id!r} name={self._name!r}>'

    @property
    def id(self) -> str:
        return self._id

    @property
    def client_key(self) -> str:
        """The key the platform tells this client's locks by."""
        return self._client_key

    # --- metadata ----------------------------------------------------------------------------

    def get_metadata(self) -> RequestQueueMetadata:
        data = self._resource.get()
        if data is None:
            raise missing_storage('request_queues', self._id)
        with self._mutex:
            # The platform's counts may lag a few seconds behind this client's own changes.
            handled = max(
                count(data, 'handledRequestCount'), self._base_counts[0] + self._handled_delta
            )
            total = max(count(data, 'totalRequestCount'), self._base_counts[1] + self._total_delta)
        return RequestQueueMetadata(
            id=str(data.get('id') or self._id),
            name=data.get('name') or None,
            created_at=timestamp(data, 'createdAt'),
            modified_at=timestamp(data, 'modifiedAt'),
            accessed_at=timestamp(data, 'accessedAt'),
            had_multiple_clients=bool(data.get('hadMultipleClients')),
            handled_request_count=handled,
            pending_request_count=max(0, total - handled),
            total_request_count=total,
        )

    # --- adding ------------------------------------------------------------------------------

    def add_requests(
        self, requests: Sequence[Request], *, forefront: bool
    ) -> list[ProcessedRequest]:
        """Add requests; those this client already added or saw cost no call.

        Raises:
            ApifyApiError: The platform refused the batch after the retries.
            StorageError: The platform left some requests unprocessed after the retries (the
                message says how many; the others were added).
        """
        first: dict[str, Request] = {}
        for request in requests:
            first.setdefault(request.unique_key, request)
        done: dict[str, ProcessedRequest] = {}
        with self._mutex:
            for unique_key, request in first.items():
                handled = self._known.get(request.id)
                if handled is not None:
                    done[unique_key] = ProcessedRequest(
                        id=request.id,
                        unique_key=unique_key,
                        was_already_present=True,
                        was_already_handled=handled,
                    )
        to_send = [request for key, request in first.items() if key not in done]
        if to_send:
            with self._mutex:
                self._adding += 1  # is_finished() says no while requests are on their way
            try:
                done.update(self._send(to_send, forefront))
            finally:
                with self._mutex:
                    self._adding -= 1
        results: list[ProcessedRequest] = []
        seen: set[str] = set()
        for request in requests:
            result = done[request.unique_key]
            if request.unique_key in seen:  # a duplicate later in the batch finds it present
                result = attrs.evolve(result, was_already_present=True)
            seen.add(request.unique_key)
            results.append(result)
        return results

    def _send(self, requests: list[Request], forefront: bool) -> dict[str, ProcessedRequest]:
        sent = [request_to_api(request, with_id=False) for request in requests]
        response = self._resource.batch_add_requests(sent, forefront=forefront)
        processed = {
            str(item.get('uniqueKey')): item for item in response.get('processedRequests') or ()
        }
        results: dict[str, ProcessedRequest] = {}
        with self._mutex:
            for index, request in enumerate(requests):
                item = processed.get(request.unique_key)
                if item is None:
                    continue
                present = bool(item.get('wasAlreadyPresent'))
                handled = bool(item.get('wasAlreadyHandled'))
                if not present:
                    self._total_delta += 1
                    if request.handled_at is not None:
                        self._handled_delta += 1
                        handled = True
                    self._remember(request.id, sent[index])
                else:  # the platform keeps the version another client (or run) added
                    self._written.pop(request.id, None)
                self._known[request.id] = handled
                results[request.unique_key] = ProcessedRequest(
                    id=str(item.get('requestId') or request.id),
                    unique_key=request.unique_key,
                    was_already_present=present,
                    was_already_handled=bool(item.get('wasAlreadyHandled')),
                )
            if forefront:
                self._check_forefront = True
        unprocessed = [request for request in requests if request.unique_key not in results]
        if unprocessed:
            raise StorageError(
                f'the platform did not add {len(unprocessed)} of {len(requests)} requests to '
                f'request queue {self._id} even after retries (the first: '
                f'{unprocessed[0].url!r}); the others were added: add these again later'
            )
        return results

    def _remember(self, request_id: str, data: dict[str, Any]) -> None:
        """Keep a copy of what this client wrote of a request (call with the mutex held)."""
        written = self._written
        written.pop(request_id, None)  # re-inserted: the newest goes last
        if len(written) >= _CACHE_LIMIT:
            del written[next(iter(written))]
        written[request_id] = _detached({**data, 'id': request_id})

    # --- reading -----------------------------------------------------------------------------

    def get_request(self, request_id: str) -> Request | None:
        """Return a request by its id (or, as crawlee 1.x allows, by its unique key)."""
        if _looks_like_id(request_id):
            data = self._resource.get_request(request_id)
            if data is not None:
                return request_from_api(data)
        alternative = request_id_from_unique_key(request_id)
        if alternative == request_id:
            return None
        data = self._resource.get_request(alternative)
        return None if data is None else request_from_api(data)

    # --- consuming ---------------------------------------------------------------------------

    def fetch_next_request(self) -> Request | None:
        while True:
            with self._fetch_lock:
                self._check_open()
                picked = self._pick_from_head()
                if picked is None:
                    self._refill_head()
                    picked = self._pick_from_head()
                if picked is None:
                    return None
                request_id, expires = picked
                held = _Held(expires)
                with self._mutex:
                    self._in_progress[request_id] = held  # reserved: no other thread picks it
            request = self._hand_out(request_id, held)
            if request is not None:
                return request

    def _pick_from_head(self) -> tuple[str, float] | None:
        now = time.monotonic()
        with self._mutex:
            while self._head:
                request_id, expires = self._head.popitem(last=False)
                if request_id in self._in_progress:
                    continue
                if expires <= now:
                    self._head_trusted.discard(request_id)
                    continue  # the lock ran out: another consumer may have it now
                return request_id, expires
        return None

    def _refill_head(self) -> None:
        with self._mutex:
            leftover: list[tuple[str, float]] = []
            if self._check_forefront:
                leftover = list(self._head.items())
                self._head.clear()
                self._check_forefront = False
        started = time.monotonic()
        response = self._resource.list_and_lock_head(lock_secs=self._lock_secs, limit=_HEAD_LIMIT)
        expires = started + self._lock_secs
        alone = response.get('hadMultipleClients') is False
        with self._mutex:
            self._locked_elsewhere = bool(response.get('queueHasLockedRequests'))
            for item in response.get('items') or ():
                request_id = item.get('id')
                if not request_id or request_id in self._in_progress:
                    continue
                request_id = str(request_id)
                self._head[request_id] = expires
                self._known.setdefault(request_id, False)
                written = self._written.get(request_id)
                if alone and written is not None and _head_matches(item, written):
                    self._head_trusted.add(request_id)
                else:
                    self._head_trusted.discard(request_id)
            for request_id, when in leftover:
                self._head.setdefault(request_id, when)

    def _hand_out(self, request_id: str, held: _Held) -> Request | None:
        """Make sure a picked request is still ours and unhandled; return it in full."""
        with self._mutex:
            cached = None
            if request_id in self._head_trusted:
                self._head_trusted.discard(request_id)
                if not self._known.get(request_id):
                    cached = self._written.get(request_id)
        try:
            short = held.expires - time.monotonic() < self._lock_secs / 2
            if short and not self._prolong(request_id, held):
                self._drop_in_progress(request_id, held)
                return None
            if cached is not None:  # nobody else can have changed it: no need to read it back
                self._ensure_prolonging()
                return request_from_api(_detached(cached))
            data = self._resource.get_request(request_id)
        except BaseException:
            self._release_after_error(request_id, held)
            raise
        if data is None:
            _log.debug('request %s of queue %s is gone; skipping it', request_id, self._id)
            self._drop_in_progress(request_id, held)
            return None
        request = request_from_api(data)
        if request.handled_at is not None:
            with self._mutex:
                self._known[request_id] = True
            self._drop_in_progress(request_id, held)
            return None
        self._ensure_prolonging()
        return request

    def _release_after_error(self, request_id: str, held: _Held) -> None:
        self._drop_in_progress(request_id, held)
        try:
            self._resource.delete_request_lock(request_id)
        except Exception as exc:
            _log.debug('releasing the lock of request %s failed: %s', request_id, exc)

    def _drop_in_progress(self, request_id: str, held: _Held) -> None:
        with self._mutex:
            if self._in_progress.get(request_id) is held:
                del self._in_progress[request_id]

    def _prolong(self, request_id: str, held: _Held) -> bool:
        """Prolong one lock; return whether it is still this client's."""
        started = time.monotonic()
        try:
            self._resource.prolong_request_lock(request_id, lock_secs=self._lock_secs)
        except ApifyApiError as exc:
            if exc.status_code in _LOST_LOCK_STATUSES:
                _log.debug('the lock of request %s is no longer ours: %s', request_id, exc)
                return False
            raise
        held.expires = started + self._lock_secs
        return True

    def mark_request_as_handled(self, request: Request) -> ProcessedRequest | None:
        held = self._held(request, 'marked as handled')
        if held is None:
            return None
        with held.busy:
            if request.handled_at is None:
                request.handled_at = utc_now()
            with self._mutex:
                self._written.pop(request.id, None)  # a handled request is never handed out
            response = self._resource.update_request(request_to_api(request, with_id=True))
            with self._mutex:
                if self._in_progress.get(request.id) is held:
                    del self._in_progress[request.id]
                if not (response or {}).get('wasAlreadyHandled'):
                    self._handled_delta += 1
                self._known[request.id] = True
        return ProcessedRequest(
            id=request.id,
            unique_key=request.unique_key,
            was_already_present=True,
            was_already_handled=True,
        )

    def reclaim_request(self, request: Request, *, forefront: bool) -> ProcessedRequest | None:
        held = self._held(request, 'reclaimed')
        if held is None:
            return None
        with held.busy:
            request.handled_at = None
            data = request_to_api(request, with_id=True)
            with self._mutex:
                self._written.pop(request.id, None)  # unknown until the platform confirms
            self._resource.update_request(data, forefront=forefront)
            with self._mutex:
                if self._in_progress.get(request.id) is held:
                    del self._in_progress[request.id]
                self._known[request.id] = False
                self._remember(request.id, data)
                if forefront:
                    self._check_forefront = True
            self._delete_lock(request.id, forefront=forefront)
        return ProcessedRequest(
            id=request.id,
            unique_key=request.unique_key,
            was_already_present=True,
            was_already_handled=False,
        )

    def _delete_lock(self, request_id: str, *, forefront: bool = False) -> None:
        try:
            self._resource.delete_request_lock(request_id, forefront=forefront)
        except ApifyApiError as exc:
            if exc.status_code not in _LOST_LOCK_STATUSES:
                raise
            _log.debug('request %s was no longer locked by this client: %s', request_id, exc)

    def _held(self, request: Request, what: str) -> _Held | None:
        with self._mutex:
            held = self._in_progress.get(request.id)
        if held is None:
            _log.warning(
                'request %r is not in progress in this client (fetch it first); it was not %s',
                request.unique_key,
                what,
            )
        return held

    # --- state of the queue ------------------------------------------------------------------

    def is_empty(self) -> bool:
        with self._fetch_lock:
            if self._has_live_head():
                return False
            self._refill_head()
            return not self._has_live_head()

    def is_finished(self) -> bool:
        with self._fetch_lock:
            with self._mutex:
                if self._in_progress or self._adding:
                    return False
            if self._has_live_head():
                return False
            self._refill_head()
            with self._mutex:
                if self._head or self._locked_elsewhere or self._adding:
                    return False
                unconfirmed = [key for key, handled in self._known.items() if not handled]
            # The head listing can lag behind a request just added: confirm by id what this
            # client knows of and has not seen handled yet (each one once).
            for request_id in unconfirmed:
                data = self._resource.get_request(request_id)
                if data is not None and data.get('handledAt') is None:
                    return False
                with self._mutex:
                    if data is None:
                        self._known.pop(request_id, None)
                    else:
                        self._known[request_id] = True
            return True

    def _has_live_head(self) -> bool:
        now = time.monotonic()
        with self._mutex:
            for request_id, expires in list(self._head.items()):
                if expires <= now:
                    del self._head[request_id]
                elif request_id not in self._in_progress:
                    return True
        return False

    # --- lock keeping ------------------------------------------------------------------------

    def _ensure_prolonging(self) -> None:
        import os  # noqa: PLC0415

        with self._mutex:
            thread = self._thread
            if thread is not None and thread.is_alive() and self._thread_pid == os.getpid():
                return
            if self._closed:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._keep_locks, args=(self._stop,), name=PROLONG_THREAD_NAME, daemon=True
            )
            self._thread_pid = os.getpid()
            self._thread.start()

    def _keep_locks(self, stop: threading.Event) -> None:
        interval = max(0.05, self._lock_secs / 6)
        while not stop.wait(interval):
            due = time.monotonic() + self._lock_secs * 2 / 3
            with self._mutex:
                held_now = [
                    (request_id, held)
                    for request_id, held in self._in_progress.items()
                    if held.expires <= due
                ]
            for request_id, held in held_now:
                if stop.is_set():
                    return
                with held.busy:
                    with self._mutex:
                        if self._in_progress.get(request_id) is not held:
                            continue  # handled or reclaimed meanwhile
                    try:
                        if not self._prolong(request_id, held):
                            _log.warning(
                                'request %s of queue %s lost its lock (it may be served to '
                                'another consumer)',
                                request_id,
                                self._id,
                            )
                    except Exception as exc:
                        _log.warning(
                            'prolonging the lock of request %s of queue %s failed (retried '
                            'later): %s',
                            request_id,
                            self._id,
                            exc,
                        )

    def _stop_prolonging(self) -> None:
        with self._mutex:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
            if thread.is_alive():
                _log.warning('the thread %s did not stop within 5 s', thread.name)

    # --- lifecycle ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(
                f'request queue {self._id} is closed (the Actor exited or the queue was '
                f'dropped): open it again'
            )

    def close(self) -> None:
        """Stop prolonging locks and release every request still held (best effort)."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
        self._stop_prolonging()
        with self._mutex:
            held = list(self._in_progress) + [
                key for key in self._head if key not in self._in_progress
            ]
            self._in_progress.clear()
            self._head.clear()
            self._head_trusted.clear()
        for index, request_id in enumerate(held):
            try:
                self._delete_lock(request_id)
            except Exception as exc:
                # After the client's retries the API is likely down: do not spend the exit on
                # the others, their locks run out by themselves.
                _log.warning(
                    'releasing the locks of %d requests of queue %s failed (they are served '
                    'again when their locks run out, within %d s): %s',
                    len(held) - index,
                    self._id,
                    self._lock_secs,
                    exc,
                )
                return

    def purge(self) -> None:
        """Delete every request of the queue."""
        self._check_open()
        start: str | None = None
        while True:
            page = self._resource.list_requests(limit=1000, exclusive_start_id=start)
            items = page.get('items') or []
            for index in range(0, len(items), 25):
                batch = [{'id': item['id']} for item in items[index : index + 25]]
                self._resource.batch_delete_requests(batch)
            if len(items) < 1000:
                break
            start = str(items[-1]['id'])
        with self._mutex:
            self._head.clear()
            self._head_trusted.clear()
            self._written.clear()
            self._known.clear()
            self._handled_delta = self._total_delta = 0
            self._base_counts = (0, 0)

    def drop(self) -> None:
        self.close()
        try:
            self._resource.delete()
        except Exception as exc:
            if not is_not_found(exc):
                raise
        if self._on_drop is not None:
            self._on_drop()
