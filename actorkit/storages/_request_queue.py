"""The public request queue: URLs to crawl, each handed to one consumer at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from actorkit._errors import InvalidStorageArgumentError
from actorkit.storages._backend import RequestQueueClient
from actorkit.storages._base import Storage
from actorkit.storages._request_models import (
    HTTP_METHODS,
    REQUEST_FIELDS,
    ProcessedRequest,
    Request,
    RequestQueueMetadata,
    build_request,
    check_bool,
    check_request,
    check_text,
    request_id_from_unique_key,
)
from actorkit.storages._urls import compute_unique_key

__all__ = ['HTTP_METHODS', 'RequestQueue', 'check_request', 'to_request']

# Keys a dict given to add_request may hold, beyond Request.from_url's other fields: each
# spelling -> the keyword of build_request.
_DICT_KEYWORDS = {
    'url': 'url',
    'method': 'method',
    'headers': 'headers',
    'payload': 'payload',
    'label': 'label',
    'session_id': 'session_id',
    'sessionId': 'session_id',
    'unique_key': 'unique_key',
    'uniqueKey': 'unique_key',
    'keep_url_fragment': 'keep_url_fragment',
    'keepUrlFragment': 'keep_url_fragment',
    'use_extended_unique_key': 'use_extended_unique_key',
    'useExtendedUniqueKey': 'use_extended_unique_key',
    'always_enqueue': 'always_enqueue',
    'alwaysEnqueue': 'always_enqueue',
    'enqueue_strategy': 'enqueue_strategy',
    'enqueueStrategy': 'enqueue_strategy',
    'max_retries': 'max_retries',
    'maxRetries': 'max_retries',
}


def _request_from_dict(data: Mapping[Any, Any], where: str) -> Request:
    keywords: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise InvalidStorageArgumentError(
                f'{where} has a key of type {type(key).__name__} ({key!r}); the keys of a '
                f'request dict are field names (str)'
            )
        keyword = _DICT_KEYWORDS.get(key)
        if keyword is None:
            if key not in REQUEST_FIELDS:
                raise InvalidStorageArgumentError(
                    f'{where} has an unknown key {key!r}; a request dict may hold: '
                    f'{", ".join(sorted({*_DICT_KEYWORDS, *REQUEST_FIELDS}))}'
                )
            fields[key] = value
            continue
        if keyword in keywords:
            raise InvalidStorageArgumentError(f'{where} sets {keyword!r} twice (as {key!r})')
        keywords[keyword] = value
    if 'url' not in keywords:
        raise InvalidStorageArgumentError(f'{where} has no "url": add the URL to process')
    url = keywords.pop('url')
    return build_request(url, where=where, fields=fields, **keywords)


def to_request(value: object, where: str = 'request') -> Request:
    """Turn what ``add_request`` accepts (a URL, a dict or a :class:`Request`) into a request.

    Raises:
        InvalidStorageArgumentError: The value is not acceptable; the message names the field.
    """
    if isinstance(value, Request):
        return check_request(value, where)
    if isinstance(value, str):
        try:
            unique_key = compute_unique_key(value)  # validates the URL
        except InvalidStorageArgumentError as exc:
            raise InvalidStorageArgumentError(str(exc).replace('url ', f'{where} ', 1)) from None
        return Request(url=value, unique_key=unique_key, id=request_id_from_unique_key(unique_key))
    if isinstance(value, Mapping):
        return _request_from_dict(value, where)
    raise InvalidStorageArgumentError(
        f'{where} must be a URL str, a dict with a "url" key or a Request, '
        f'got {type(value).__name__}'
    )


class RequestQueue(Storage[RequestQueueClient]):
    """A queue of requests (URLs) to process, shared safely by threads and processes.

    The blocking twin of the official SDK's ``RequestQueue``: add requests, then repeatedly
    :meth:`fetch_next_request`, process it and call :meth:`mark_request_as_handled` (or
    :meth:`reclaim_request` to retry it later). A fetched request is in progress: no other
    consumer gets it until it is handled or reclaimed, or its process ends.

    Open one with ``actor.open_request_queue()``; ``RequestQueue(client)`` wraps a backend client.

    Example::

        queue = actor.open_request_queue()
        queue.add_requests(['https://example.com', 'https://example.com/about'])
        while (request := queue.fetch_next_request()) is not None:
            try:
                process(request.url)
            except Exception:
                queue.reclaim_request(request)
            else:
                queue.mark_request_as_handled(request)
    """

    _OPEN_METHOD = 'open_request_queue'

    _HANDED_OUT_LIMIT = 100_000
    """The most handed-out requests whose checked url, unique key and id are remembered."""

    def __init__(self, client: RequestQueueClient) -> None:
        """Wrap a backend client (open queues with ``actor.open_request_queue()``)."""
        super().__init__(client)
        self._handed_out: dict[str, tuple[str, str, str]] = {}
        """Request id -> ``(url, unique_key, id)`` as fetched: marking one that kept them
        does not parse its URL again."""

    def get_metadata(self) -> RequestQueueMetadata:
        """Return the queue's metadata, with its request counts."""
        return self._live().get_metadata()

    def purge(self) -> None:
        """Delete every request, keeping the queue itself (its id, name and folder)."""
        self._live().purge()

    def get_handled_count(self) -> int:
        """Return how many requests are handled."""
        return self._live().get_metadata().handled_request_count

    def get_total_count(self) -> int:
        """Return how many distinct requests the queue holds (handled ones included)."""
        return self._live().get_metadata().total_request_count

    def add_request(
        self, request: str | Mapping[str, Any] | Request, *, forefront: bool = False
    ) -> ProcessedRequest:
        """Add one request, unless a request with the same unique key is already there.

        Args:
            request: A URL, a dict (``url`` and optional ``unique_key``, ``method``,
                ``payload``, ``headers``, ``user_data``, ``label``, ``retry_count``,
                ``no_retry``, ``keep_url_fragment``, ``use_extended_unique_key``; camelCase
                spellings are accepted) or a :class:`Request`. The unique key defaults to the
                normalized URL, as in the official SDK.
            forefront: Put the request at the front of the queue (the last one added with
                ``forefront`` comes first). An already waiting request moves to the front.

        Returns:
            The request's id and unique key, and whether it was already present or handled.

        Raises:
            InvalidStorageArgumentError: The request is not valid (nothing is written).
        """
        check_bool(forefront, 'forefront')
        return self._live().add_requests([to_request(request)], forefront=forefront)[0]

    def add_requests(
        self,
        requests: Iterable[str | Mapping[str, Any] | Request],
        *,
        forefront: bool = False,
        batch_size: int = 1000,
        wait_time_between_batches: timedelta | None = None,
        wait_for_all_requests_to_be_added: bool = True,
        wait_for_all_requests_to_be_added_timeout: timedelta | None = None,
    ) -> list[ProcessedRequest]:
        """Add many requests, ``batch_size`` at a time; all are checked before any is written.

        Args:
            requests: URLs, dicts or :class:`Request` objects (see :meth:`add_request`).
            forefront: Put the requests at the front of the queue.
            batch_size: How many requests to write per batch (one lock per batch).
            wait_time_between_batches: Accepted for the official SDK's signature; ignored,
                since batches are written one after the other before this returns.
            wait_for_all_requests_to_be_added: Accepted for the official SDK's signature;
                every request is always added before this returns.
            wait_for_all_requests_to_be_added_timeout: Accepted for the official SDK's
                signature; ignored.

        Returns:
            One result per request, in the given order.

        Raises:
            InvalidStorageArgumentError: A request is not valid (the message names its index;
                nothing is written).
        """
        check_bool(forefront, 'forefront')
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidStorageArgumentError(f'batch_size must be an int >= 1, got {batch_size!r}')
        if isinstance(requests, (str, bytes, Mapping, Request)):
            raise InvalidStorageArgumentError(
                'requests must be a list of requests; use add_request() to add a single one'
            )
        checked = [to_request(value, f'requests[{index}]') for index, value in enumerate(requests)]
        results: list[ProcessedRequest] = []
        for start in range(0, len(checked), batch_size):
            batch = checked[start : start + batch_size]
            results.extend(self._live().add_requests(batch, forefront=forefront))
        return results

    def get_request(
        self, unique_key: str | None = None, *, request_id: str | None = None
    ) -> Request | None:
        """Return a request by its unique key (the official keyword) or its id, or ``None``.

        Args:
            unique_key: The request's unique key (its id is accepted here too).
            request_id: Or the request's id (actorkit's earlier keyword).

        Raises:
            InvalidStorageArgumentError: Neither or both are given, or one is not a str.
        """
        if (unique_key is None) == (request_id is None):
            raise InvalidStorageArgumentError(
                'get_request takes one of unique_key or request_id'
                + ('' if unique_key is None else ', not both')
            )
        key = check_text(unique_key if unique_key is not None else request_id, 'unique_key')
        assert key is not None
        return self._live().get_request(key)

    def fetch_next_request(self) -> Request | None:
        """Return the next request to process and mark it in progress, or ``None``.

        ``None`` means no request is waiting right now; others may still be in progress and
        come back if reclaimed. Use :meth:`is_finished` to know whether all work is done.
        """
        request = self._live().fetch_next_request()
        if request is not None:
            handed_out = self._handed_out
            if len(handed_out) >= self._HANDED_OUT_LIMIT:  # fetched, never marked: start over
                handed_out.clear()
            handed_out[request.id] = (request.url, request.unique_key, request.id)
        return request

    def mark_request_as_handled(self, request: Request) -> ProcessedRequest | None:
        """Mark a fetched request as handled; it is never served again.

        Sets ``request.handled_at`` when it is not set. Returns ``None`` (and logs a warning)
        when the request is not in progress in this queue client.
        """
        self._check_fetched(request, 'mark_request_as_handled')
        result = self._live().mark_request_as_handled(request)
        self._handed_out.pop(request.id, None)
        return result

    def reclaim_request(
        self, request: Request, *, forefront: bool = False
    ) -> ProcessedRequest | None:
        """Return a fetched request to the queue, saving its changes (``retry_count``, ...).

        Args:
            request: The request, as fetched and possibly updated.
            forefront: Put it at the front of the queue instead of the end.

        Returns:
            The result, or ``None`` (and a warning is logged) when the request is not in
            progress in this queue client.
        """
        check_bool(forefront, 'forefront')
        self._check_fetched(request, 'reclaim_request')
        result = self._live().reclaim_request(request, forefront=forefront)
        self._handed_out.pop(request.id, None)
        return result

    def is_empty(self) -> bool:
        """Whether no request is waiting to be fetched (some may still be in progress)."""
        return self._live().is_empty()

    def is_finished(self) -> bool:
        """Whether every request is handled: none waiting and none in progress."""
        return self._live().is_finished()

    def drop(self) -> None:
        """Delete the queue and all its requests."""
        self._live().drop()

    def _check_fetched(self, request: object, method: str) -> None:
        if not isinstance(request, Request):
            raise InvalidStorageArgumentError(
                f'{method}() takes the Request returned by fetch_next_request(), '
                f'got {type(request).__name__}'
            )
        checked = self._handed_out.get(request.id) if type(request.id) is str else None
        check_request(request, checked=checked)
