"""Request queues: the collection and one queue (requests, the head, locks, batches)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from actorkit.client._base import (
    StorageClient,
    StorageCollectionClient,
    path_segment,
    query,
    seconds_alias,
)
from actorkit.client._http import MEDIUM, SHORT, encode_json, to_seconds

BATCH_SIZE = 25
"""The most requests the API takes in one batch call."""
MAX_BATCH_BYTES = 9 * 1024 * 1024 - 1024
"""The most bytes of JSON one batch call may carry (the platform limit, with a margin)."""


class RequestQueueCollectionClient(StorageCollectionClient):
    """The request queues of the account: list them, get or create one by name."""


def _request_id(request: Mapping[str, Any] | str, what: str) -> str:
    if isinstance(request, str):
        return request
    request_id = request.get('id')
    if not isinstance(request_id, str) or not request_id:
        raise ValueError(f'{what} needs the request id: give a request with an "id"')
    return request_id


class RequestQueueClient(StorageClient):
    """One request queue, seen by one client (``client_key``) when locking its head."""

    def __init__(self, *args: Any, client_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client_key = client_key
        """The key the queue uses to tell this client's locks and head from others'."""

    def list_head(self, *, limit: int | None = None) -> dict[str, Any]:
        """Return the first requests of the queue without locking them.

        Returns:
            ``{'limit', 'queueModifiedAt', 'hadMultipleClients', 'items': [...]}``.
        """
        params = query(limit=limit, clientKey=self.client_key)
        return dict(self._get_data('/head', params=params, timeout=SHORT))

    def list_and_lock_head(
        self,
        *,
        lock_secs: float | None = None,
        limit: int | None = None,
        lock_duration: timedelta | None = None,
    ) -> dict[str, Any]:
        """Return the first requests of the queue, locked for this client.

        Args:
            lock_secs: How long the lock lasts, in seconds (or give ``lock_duration``).
            limit: The most requests to return.
            lock_duration: The lock's length as a ``timedelta`` (the official client's name).

        Returns:
            ``{'limit', 'lockSecs', 'queueModifiedAt', 'hadMultipleClients', 'items': [...]}``.
        """
        seconds = seconds_alias(lock_secs, lock_duration, 'lock_secs', 'lock_duration')
        if seconds is None:
            raise TypeError('list_and_lock_head() needs lock_secs (how long the lock lasts)')
        params = query(lockSecs=seconds, limit=limit, clientKey=self.client_key)
        return dict(self._send_json('POST', '/head/lock', params=params, timeout=MEDIUM))

    def add_request(self, request: Mapping[str, Any], forefront: bool = False) -> dict[str, Any]:
        """Add one request (``url`` and ``uniqueKey`` at least).

        Returns:
            ``{'requestId', 'wasAlreadyPresent', 'wasAlreadyHandled'}``.
        """
        params = query(forefront=forefront, clientKey=self.client_key)
        return dict(
            self._send_json('POST', '/requests', dict(request), params=params, what='the request')
        )

    def get_request(self, request_id: str) -> dict[str, Any] | None:
        """Return a request, or ``None`` when the queue has none with this id."""
        result = self._get_or_none('/requests/' + path_segment(request_id, 'request id'))
        return None if result is None else dict(result)

    def update_request(self, request: Mapping[str, Any], forefront: bool = False) -> dict[str, Any]:
        """Replace a request (found by its ``id``); set ``handledAt`` to mark it handled.

        Returns:
            ``{'requestId', 'wasAlreadyPresent', 'wasAlreadyHandled'}``.
        """
        suffix = '/requests/' + path_segment(_request_id(request, 'update_request()'), 'request id')
        params = query(forefront=forefront, clientKey=self.client_key)
        return dict(
            self._send_json(
                'PUT', suffix, dict(request), params=params, timeout=MEDIUM, what='the request'
            )
        )

    def delete_request(self, request_id: str) -> None:
        """Delete a request."""
        suffix = '/requests/' + path_segment(request_id, 'request id')
        self._call('DELETE', suffix, params=query(clientKey=self.client_key), timeout=SHORT)

    def prolong_request_lock(
        self,
        request_id: str,
        forefront: bool = False,
        lock_secs: float | None = None,
        *,
        lock_duration: timedelta | None = None,
    ) -> dict[str, Any]:
        """Extend this client's lock of a request.

        Args:
            request_id: The request.
            forefront: Put the request first in the queue once its lock ends.
            lock_secs: The new lock length in seconds (or give ``lock_duration``).
            lock_duration: The new lock length as a ``timedelta``.

        Returns:
            ``{'lockExpiresAt'}``.
        """
        seconds = seconds_alias(lock_secs, lock_duration, 'lock_secs', 'lock_duration')
        if seconds is None:
            raise TypeError('prolong_request_lock() needs lock_secs (the new lock length)')
        suffix = '/requests/' + path_segment(request_id, 'request id') + '/lock'
        params = query(clientKey=self.client_key, forefront=forefront, lockSecs=seconds)
        return dict(self._send_json('PUT', suffix, params=params, timeout=MEDIUM))

    def delete_request_lock(self, request_id: str, forefront: bool = False) -> None:
        """Release this client's lock of a request (``forefront`` puts it first in the queue)."""
        suffix = '/requests/' + path_segment(request_id, 'request id') + '/lock'
        params = query(clientKey=self.client_key, forefront=forefront)
        self._call('DELETE', suffix, params=params, timeout=SHORT)

    def batch_add_requests(
        self,
        requests: Sequence[Mapping[str, Any]],
        forefront: bool = False,
        max_unprocessed_requests_retries: int = 3,
        min_delay_between_unprocessed_requests_retries: float | timedelta = 0.5,
        *,
        max_parallel: int = 1,
    ) -> dict[str, Any]:
        """Add many requests, 25 per call, sending again those the API did not process.

        Args:
            requests: The requests (``url`` and ``uniqueKey`` each at least).
            forefront: Put them first in the queue.
            max_unprocessed_requests_retries: How many more times to send the requests the
                API left unprocessed (e.g. under rate limiting).
            min_delay_between_unprocessed_requests_retries: The first wait before sending them
                again, doubled each time (seconds or a timedelta).
            max_parallel: Accepted for code written for the official client; batches are sent
                one after the other, so only 1 is valid (use threads to send more at once).

        Returns:
            ``{'processedRequests': [...], 'unprocessedRequests': [...]}``; the unprocessed ones
            are those still unprocessed after the last retry.
        """
        if max_parallel != 1:
            raise ValueError(
                f'max_parallel={max_parallel} is not supported: batches are sent one after the '
                f'other; call batch_add_requests from several threads to send more at once'
            )
        delay = to_seconds(
            min_delay_between_unprocessed_requests_retries,
            'min_delay_between_unprocessed_requests_retries',
        )
        params = query(forefront=forefront, clientKey=self.client_key)
        processed: list[dict[str, Any]] = []
        unprocessed: list[dict[str, Any]] = []
        for chunk in _chunks([dict(request) for request in requests]):
            pending = chunk
            retries = 0
            while True:
                result = self._send_json(
                    'POST',
                    '/requests/batch',
                    pending,
                    params=params,
                    timeout=MEDIUM,
                    what='the requests',
                )
                processed.extend(result.get('processedRequests') or [])
                left = result.get('unprocessedRequests') or []
                if not left or retries >= max_unprocessed_requests_retries:
                    unprocessed.extend(left)
                    break
                keys = {entry.get('uniqueKey') for entry in left}
                pending = [request for request in pending if request.get('uniqueKey') in keys]
                if not pending:  # the API named requests it was not sent: nothing to resend
                    unprocessed.extend(left)
                    break
                time.sleep((delay or 0.0) * (2**retries))
                retries += 1
        return {'processedRequests': processed, 'unprocessedRequests': unprocessed}

    def batch_delete_requests(self, requests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Delete many requests, each given by ``id`` or ``uniqueKey``.

        Returns:
            ``{'processedRequests': [...], 'unprocessedRequests': [...]}``.
        """
        body = [
            {key: request[key] for key in ('id', 'uniqueKey') if request.get(key) is not None}
            for request in requests
        ]
        params = query(clientKey=self.client_key)
        return dict(
            self._send_json(
                'DELETE', '/requests/batch', body, params=params, what='the requests to delete'
            )
        )

    def list_requests(
        self,
        *,
        limit: int | None = None,
        exclusive_start_id: str | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Return one page of the queue's requests.

        Args:
            limit: The most requests to return.
            exclusive_start_id: Start after the request with this id.
            cursor: The ``nextCursor`` of the previous page (the newer paging of the API).
        """
        params = query(
            limit=limit,
            exclusiveStartId=exclusive_start_id,
            cursor=cursor,
            clientKey=self.client_key,
        )
        return dict(self._get_data('/requests', params=params, timeout=MEDIUM))

    def iterate_requests(self, *, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield every request of the queue, a page at a time (``limit``: the most in all)."""
        last_id: str | None = None
        yielded = 0
        while True:
            page_limit = None if not limit else limit - yielded
            page = self.list_requests(limit=page_limit, exclusive_start_id=last_id)
            items = page.get('items') or []
            for item in items:
                yield item
                yielded += 1
            if not items or (limit and yielded >= limit):
                return
            last_id = items[-1].get('id')
            if page.get('limit') and len(items) < int(page['limit']):
                return


def _chunks(requests: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split requests into batches of at most 25 and at most ``MAX_BATCH_BYTES`` of JSON."""
    chunk: list[dict[str, Any]] = []
    size = 2
    for request in requests:
        length = len(encode_json(request, 'a request')) + 1
        if chunk and (len(chunk) == BATCH_SIZE or size + length > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 2
        chunk.append(request)
        size += length
    if chunk:
        yield chunk
