"""The public request queue: URLs to crawl, each handed to one consumer at a time."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from actorkit._errors import InvalidStorageArgumentError
from actorkit.storages._backend import RequestQueueClient
from actorkit.storages._base import Storage
from actorkit.storages._request_models import (
    ProcessedRequest,
    Request,
    RequestQueueMetadata,
    normalize_headers,
    request_id_from_unique_key,
)
from actorkit.storages._urls import compute_unique_key, validate_url

HTTP_METHODS = ('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH')
"""The HTTP methods a request may use (the official SDK rejects any other)."""

_SURROGATES = re.compile('[\ud800-\udfff]')

# Keys a dict given to add_request may hold: each spelling -> the field it sets.
_DICT_KEYS = {
    'url': 'url',
    'unique_key': 'unique_key',
    'uniqueKey': 'unique_key',
    'id': 'id',
    'method': 'method',
    'payload': 'payload',
    'headers': 'headers',
    'user_data': 'user_data',
    'userData': 'user_data',
    'label': 'label',
    'retry_count': 'retry_count',
    'retryCount': 'retry_count',
    'no_retry': 'no_retry',
    'noRetry': 'no_retry',
    'loaded_url': 'loaded_url',
    'loadedUrl': 'loaded_url',
    'keep_url_fragment': 'keep_url_fragment',
    'keepUrlFragment': 'keep_url_fragment',
    'use_extended_unique_key': 'use_extended_unique_key',
    'useExtendedUniqueKey': 'use_extended_unique_key',
}


def _check_text(value: object, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        expected = 'a str or None' if optional else 'a str'
        raise InvalidStorageArgumentError(f'{what} must be {expected}, got {type(value).__name__}')
    if _SURROGATES.search(value):
        raise InvalidStorageArgumentError(f'{what} contains a lone surrogate (invalid Unicode)')
    return value


def _check_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidStorageArgumentError(f'{what} must be True or False, got {value!r}')
    return value


def _check_method(value: object, what: str) -> str:
    method = _check_text(value, what)
    assert method is not None
    if method.upper() not in HTTP_METHODS:
        raise InvalidStorageArgumentError(
            f'{what} {method!r} is not an HTTP method; use one of {", ".join(HTTP_METHODS)}'
        )
    return method.upper()


def _check_headers(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidStorageArgumentError(
            f'{what} must be a dict of str to str, got {type(value).__name__}'
        )
    for key, header in value.items():
        _check_text(key, f'{what} key {key!r}')
        _check_text(header, f'{what}[{key!r}]')
    return normalize_headers(value)


def _check_user_data(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidStorageArgumentError(f'{what} must be a dict, got {type(value).__name__}')
    try:
        json.dumps(value, ensure_ascii=False).encode('utf-8')
    except (TypeError, ValueError) as exc:
        raise InvalidStorageArgumentError(
            f'{what} must hold only JSON values (dict, list, str, int, float, bool, None): {exc}'
        ) from exc
    return dict(value)


def _check_retry_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidStorageArgumentError(f'{what} must be an int >= 0, got {value!r}')
    return value


def check_request(request: Request, where: str = 'request') -> Request:
    """Check every field of a request; raise an error naming the first bad one.

    Raises:
        InvalidStorageArgumentError: A field has a wrong type or value.
    """
    validate_url(request.url, field=f'{where}.url')
    unique_key = _check_text(request.unique_key, f'{where}.unique_key')
    if not unique_key:
        raise InvalidStorageArgumentError(f'{where}.unique_key must not be empty')
    expected_id = request_id_from_unique_key(unique_key)
    if request.id != expected_id:
        raise InvalidStorageArgumentError(
            f'{where}.id {request.id!r} does not belong to its unique key {unique_key!r} (the id '
            f'is derived from it: {expected_id!r}); build requests with Request.from_url()'
        )
    if request.method not in HTTP_METHODS:
        raise InvalidStorageArgumentError(
            f'{where}.method {request.method!r} is not an HTTP method; use one of '
            f'{", ".join(HTTP_METHODS)}'
        )
    _check_text(request.payload, f'{where}.payload', optional=True)
    request.headers = _check_headers(request.headers, f'{where}.headers')
    _check_user_data(request.user_data, f'{where}.user_data')
    _check_retry_count(request.retry_count, f'{where}.retry_count')
    _check_bool(request.no_retry, f'{where}.no_retry')
    if request.loaded_url is not None:
        validate_url(request.loaded_url, field=f'{where}.loaded_url')
    if request.handled_at is not None and not isinstance(request.handled_at, datetime):
        raise InvalidStorageArgumentError(f'{where}.handled_at must be a datetime or None')
    return request


def _request_from_dict(data: Mapping[Any, Any], where: str) -> Request:
    fields: dict[str, Any] = {}
    for key, value in data.items():
        field = _DICT_KEYS.get(key) if isinstance(key, str) else None
        if field is None:
            raise InvalidStorageArgumentError(
                f'{where} has an unknown key {key!r}; a request dict may hold: '
                f'{", ".join(sorted(set(_DICT_KEYS)))}'
            )
        if field in fields:
            raise InvalidStorageArgumentError(f'{where} sets {field!r} twice (as {key!r})')
        fields[field] = value
    if 'url' not in fields:
        raise InvalidStorageArgumentError(f'{where} has no "url": add the URL to process')
    url = validate_url(fields['url'], field=f'{where}.url')
    method = _check_method(fields.get('method', 'GET'), f'{where}.method')
    payload_value = fields.get('payload')
    if isinstance(payload_value, bytes):
        try:
            payload_value = payload_value.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise InvalidStorageArgumentError(
                f'{where}.payload must be text (UTF-8 bytes are accepted): {exc}'
            ) from exc
    payload = _check_text(payload_value, f'{where}.payload', optional=True)
    headers = _check_headers(fields.get('headers') or {}, f'{where}.headers')
    user_data = _check_user_data(fields.get('user_data') or {}, f'{where}.user_data')
    if 'label' in fields:
        user_data['label'] = _check_text(fields['label'], f'{where}.label', optional=True)
    keep_fragment = _check_bool(
        fields.get('keep_url_fragment', False), f'{where}.keep_url_fragment'
    )
    extended = _check_bool(
        fields.get('use_extended_unique_key', False), f'{where}.use_extended_unique_key'
    )
    unique_key = _check_text(fields.get('unique_key'), f'{where}.unique_key', optional=True)
    if unique_key is None:
        unique_key = compute_unique_key(
            url,
            method=method,
            payload=payload,
            headers=headers,
            keep_url_fragment=keep_fragment,
            use_extended_unique_key=extended,
        )
    request = Request(
        url=url,
        unique_key=unique_key,
        id=request_id_from_unique_key(unique_key),
        method=method,
        payload=payload,
        headers=headers,
        user_data=user_data,
        retry_count=_check_retry_count(fields.get('retry_count', 0), f'{where}.retry_count'),
        no_retry=_check_bool(fields.get('no_retry', False), f'{where}.no_retry'),
        loaded_url=_check_text(fields.get('loaded_url'), f'{where}.loaded_url', optional=True),
    )
    if 'id' in fields and fields['id'] != request.id:
        raise InvalidStorageArgumentError(
            f'{where}.id {fields["id"]!r} does not belong to the unique key {unique_key!r} '
            f'(expected {request.id!r}); leave "id" out, it is derived from the unique key'
        )
    return check_request(request, where)


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

    def get_metadata(self) -> RequestQueueMetadata:
        """Return the queue's metadata, with its request counts."""
        return self._client.get_metadata()

    def purge(self) -> None:
        """Delete every request, keeping the queue itself (its id, name and folder)."""
        self._client.purge()

    def get_handled_count(self) -> int:
        """Return how many requests are handled."""
        return self._client.get_metadata().handled_request_count

    def get_total_count(self) -> int:
        """Return how many distinct requests the queue holds (handled ones included)."""
        return self._client.get_metadata().total_request_count

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
        _check_bool(forefront, 'forefront')
        return self._client.add_requests([to_request(request)], forefront=forefront)[0]

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
        _check_bool(forefront, 'forefront')
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
            results.extend(self._client.add_requests(batch, forefront=forefront))
        return results

    def get_request(self, request_id: str) -> Request | None:
        """Return a request by its id (a unique key is accepted too), or ``None``."""
        _check_text(request_id, 'request_id')
        return self._client.get_request(request_id)

    def fetch_next_request(self) -> Request | None:
        """Return the next request to process and mark it in progress, or ``None``.

        ``None`` means no request is waiting right now; others may still be in progress and
        come back if reclaimed. Use :meth:`is_finished` to know whether all work is done.
        """
        return self._client.fetch_next_request()

    def mark_request_as_handled(self, request: Request) -> ProcessedRequest | None:
        """Mark a fetched request as handled; it is never served again.

        Sets ``request.handled_at`` when it is not set. Returns ``None`` (and logs a warning)
        when the request is not in progress in this queue client.
        """
        self._check_fetched(request, 'mark_request_as_handled')
        return self._client.mark_request_as_handled(request)

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
        _check_bool(forefront, 'forefront')
        self._check_fetched(request, 'reclaim_request')
        return self._client.reclaim_request(request, forefront=forefront)

    def is_empty(self) -> bool:
        """Whether no request is waiting to be fetched (some may still be in progress)."""
        return self._client.is_empty()

    def is_finished(self) -> bool:
        """Whether every request is handled: none waiting and none in progress."""
        return self._client.is_finished()

    def drop(self) -> None:
        """Delete the queue and all its requests."""
        self._client.drop()

    @staticmethod
    def _check_fetched(request: object, method: str) -> None:
        if not isinstance(request, Request):
            raise InvalidStorageArgumentError(
                f'{method}() takes the Request returned by fetch_next_request(), '
                f'got {type(request).__name__}'
            )
        check_request(request)
