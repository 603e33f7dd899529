"""Request queues: add (one or a batch), head, locks that expire, handled marks, listing.

A lock is a deadline: once it passes the request is back in the head, so a consumer that died
holding requests does not lose them. Locks belong to the ``clientKey`` that took them.

Each queue keeps its unhandled requests sorted by place, its counts and its size as they
change, so a head call costs what it returns (plus the locked requests it skips) and reading
the queue object costs nothing per request.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import attrs

from actorkit.testing._fake_platform._common import (
    ApiError,
    Call,
    Reply,
    data_reply,
    empty_reply,
    invalid,
    iso,
    new_id,
    not_found,
    now,
)
from actorkit.testing._fake_platform._state import State, Storage
from actorkit.testing._fake_platform._storages import Route, StorageKind

MAX_BATCH = 25
"""The most requests one batch call takes."""


def request_id(unique_key: str) -> str:
    """The platform's id of a request: base64(sha256(uniqueKey)) without ``+/=``, 15 chars."""
    digest = base64.b64encode(hashlib.sha256(unique_key.encode('utf-8')).digest()).decode()
    return digest.replace('+', '').replace('/', '').replace('=', '')[:15]


@attrs.define(kw_only=True)
class Entry:
    """One request in a queue."""

    id: str
    """Its id (from the unique key)."""
    data: dict[str, Any]
    """The request as stored (camelCase, without ``id``)."""
    order: int
    """Its place in the queue (negative: added to the front)."""
    lock_expires_at: datetime | None = None
    """When its lock ends."""
    lock_client: str | None = None
    """The client key holding the lock."""
    size: int = 0
    """The length of its data as JSON (for the queue's ``storageBytes``)."""

    @property
    def handled(self) -> bool:
        """Whether it is marked handled."""
        return self.data.get('handledAt') is not None

    def locked(self, moment: datetime) -> bool:
        """Whether it is locked at ``moment``."""
        return self.lock_expires_at is not None and self.lock_expires_at > moment

    def show(self) -> dict[str, Any]:
        """The full request object."""
        return {'id': self.id, **self.data}

    def show_head(self) -> dict[str, Any]:
        """The request as a head item."""
        return {
            'id': self.id,
            'uniqueKey': self.data['uniqueKey'],
            'url': self.data['url'],
            'method': self.data.get('method', 'GET'),
            'retryCount': self.data.get('retryCount', 0),
        }


@attrs.define(kw_only=True)
class RequestQueue(Storage):
    """A request queue."""

    entries: dict[str, Entry] = attrs.field(factory=dict)
    """The requests by id."""
    sequence: int = 0
    """The last order number handed out."""
    clients: set[str] = attrs.field(factory=set)
    """The client keys that touched it (an anonymous call counts as a new client)."""
    pending: list[tuple[int, str]] = attrs.field(factory=list)
    """``(order, id)`` of every unhandled request, sorted: the head is its start."""
    handled_count: int = 0
    """How many requests are handled."""
    data_bytes: int = 0
    """The total size of the requests as JSON."""
    lock_holders: dict[str, Entry] = attrs.field(factory=dict)
    """Requests that were given a lock (which may have run out since), by id."""

    def next_order(self, forefront: bool) -> int:
        """A place at the front or the back."""
        self.sequence += 1
        return -self.sequence if forefront else self.sequence

    def note_client(self, client_key: str | None) -> None:
        """Remember who called."""
        self.clients.add(client_key if client_key else f'anonymous-{new_id()}')

    def ordered(self) -> list[Entry]:
        """All requests in queue order."""
        return sorted(self.entries.values(), key=lambda entry: entry.order)

    def insert(self, entry: Entry) -> None:
        """Add a new request."""
        self.entries[entry.id] = entry
        entry.size = len(json.dumps(entry.data))
        self.data_bytes += entry.size
        if entry.handled:
            self.handled_count += 1
        else:
            bisect.insort(self.pending, (entry.order, entry.id))

    def remove(self, request_id: str) -> Entry | None:
        """Delete a request; return it (``None`` if there was none)."""
        entry = self.entries.pop(request_id, None)
        if entry is None:
            return None
        self.data_bytes -= entry.size
        self.lock_holders.pop(request_id, None)
        if entry.handled:
            self.handled_count -= 1
        else:
            self._unlist(entry)
        return entry

    def replace_data(self, entry: Entry, data: dict[str, Any]) -> None:
        """Store new data for a request (it may become handled, or unhandled again)."""
        was_handled = entry.handled
        if not was_handled:
            self._unlist(entry)
        self.data_bytes -= entry.size
        entry.data = data
        entry.size = len(json.dumps(data))
        self.data_bytes += entry.size
        self.handled_count += int(entry.handled) - int(was_handled)
        if not entry.handled:
            bisect.insort(self.pending, (entry.order, entry.id))

    def move(self, entry: Entry, order: int) -> None:
        """Give a request a new place in the queue."""
        if entry.handled:
            entry.order = order
            return
        self._unlist(entry)
        entry.order = order
        bisect.insort(self.pending, (order, entry.id))

    def _unlist(self, entry: Entry) -> None:
        index = bisect.bisect_left(self.pending, (entry.order, entry.id))
        if index < len(self.pending) and self.pending[index] == (entry.order, entry.id):
            del self.pending[index]

    def lock(self, entry: Entry, expires: datetime | None, client_key: str | None) -> None:
        """Set (or, with ``expires=None``, end) the lock of a request."""
        entry.lock_expires_at = expires
        entry.lock_client = client_key if expires is not None else None
        if expires is None:
            self.lock_holders.pop(entry.id, None)
        else:
            self.lock_holders[entry.id] = entry

    def has_locked_requests(self, moment: datetime) -> bool:
        """Whether an unhandled request is locked at ``moment`` (forgets locks that ended)."""
        for request_id, entry in list(self.lock_holders.items()):
            if entry.locked(moment) and not entry.handled:
                return True
            del self.lock_holders[request_id]
        return False


def show_queue(queue: RequestQueue) -> dict[str, Any]:
    """The API object of a request queue."""
    handled = queue.handled_count
    return {
        **queue.common_fields(),
        'totalRequestCount': len(queue.entries),
        'handledRequestCount': handled,
        'pendingRequestCount': len(queue.entries) - handled,
        'hadMultipleClients': len(queue.clients) > 1,
        'consoleUrl': f'https://console.apify.com/storage/request-queues/{queue.id}',
        'stats': {
            'readCount': queue.reads,
            'writeCount': queue.writes,
            'deleteCount': 0,
            'headItemReadCount': 0,
            'storageBytes': queue.data_bytes,
        },
    }


def _check_request(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f'{where} must be a JSON object')
    for field in ('uniqueKey', 'url'):
        if not isinstance(value.get(field), str) or not value[field]:
            raise invalid(f'{where} needs a non-empty string "{field}"')
    data = {name: inner for name, inner in value.items() if name != 'id'}
    data.setdefault('method', 'GET')
    data.setdefault('retryCount', 0)
    data.setdefault('userData', {})
    data.setdefault('headers', {})  # the official SDK cannot read a request back without them
    data.setdefault('noRetry', False)
    data.setdefault('errorMessages', [])
    data.setdefault('handledAt', None)
    return data


class RequestQueuesApi:
    """The request queue endpoints."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.kind = StorageKind(
            state,
            state.request_queues,
            'request-queues',
            'Request queue',
            RequestQueue,
            show_queue,
        )
        self.unprocessed_plan: list[int] = []
        """For each coming batch add, how many of its last requests to leave unprocessed."""

    def routes(self) -> list[Route]:
        """Every request queue route."""
        base = '/v2/request-queues/{storeId}'
        return [
            *self.kind.routes(),
            ('GET', base + '/head', self.head),
            ('POST', base + '/head/lock', self.head_lock),
            ('GET', base + '/requests', self.list_requests),
            ('POST', base + '/requests', self.add),
            ('POST', base + '/requests/batch', self.batch_add),
            ('DELETE', base + '/requests/batch', self.batch_delete),
            ('POST', base + '/requests/unlock', self.unlock),
            ('GET', base + '/requests/{requestId}', self.get_request),
            ('PUT', base + '/requests/{requestId}', self.update_request),
            ('DELETE', base + '/requests/{requestId}', self.delete_request),
            ('PUT', base + '/requests/{requestId}/lock', self.prolong_lock),
            ('DELETE', base + '/requests/{requestId}/lock', self.delete_lock),
        ]

    def _queue(self, call: Call, *, write: bool = False, client: bool = False) -> RequestQueue:
        queue: RequestQueue = self.kind.find(call.params['storeId'])
        queue.touch(write=write)
        if client:
            queue.note_client(call.query.get('clientKey'))
        return queue

    def _entry(self, queue: RequestQueue, call: Call) -> Entry:
        entry = queue.entries.get(call.params['requestId'])
        if entry is None:
            raise not_found('Request')
        return entry

    def _insert(self, queue: RequestQueue, data: dict[str, Any], forefront: bool) -> dict[str, Any]:
        identifier = request_id(data['uniqueKey'])
        existing = queue.entries.get(identifier)
        if existing is not None:
            return {
                'requestId': identifier,
                'uniqueKey': data['uniqueKey'],
                'wasAlreadyPresent': True,
                'wasAlreadyHandled': existing.handled,
            }
        queue.insert(Entry(id=identifier, data=data, order=queue.next_order(forefront)))
        return {
            'requestId': identifier,
            'uniqueKey': data['uniqueKey'],
            'wasAlreadyPresent': False,
            'wasAlreadyHandled': False,
        }

    def head(self, call: Call) -> Reply:
        limit = call.number('limit', 100, minimum=1) or 100
        with self.state.lock:
            queue = self._queue(call, client=True)
            moment = now()
            items: list[dict[str, Any]] = []
            for _, request_id in queue.pending:
                if len(items) >= limit:
                    break
                entry = queue.entries[request_id]
                if not entry.locked(moment):
                    items.append(entry.show_head())
            return data_reply(
                {
                    'limit': limit,
                    'queueModifiedAt': iso(queue.modified_at),
                    'hadMultipleClients': len(queue.clients) > 1,
                    'items': items,
                }
            )

    def head_lock(self, call: Call) -> Reply:
        lock_secs = call.number('lockSecs', None, minimum=1)
        if lock_secs is None:
            raise invalid('Query parameter "lockSecs" is required: say how long to lock')
        limit = call.number('limit', MAX_BATCH, minimum=1, maximum=MAX_BATCH) or MAX_BATCH
        client_key = call.query.get('clientKey') or None
        with self.state.lock:
            queue = self._queue(call, write=True, client=True)
            moment = now()
            expires = moment + timedelta(seconds=lock_secs)
            items: list[dict[str, Any]] = []
            for _, request_id in queue.pending:
                if len(items) >= limit:
                    break
                entry = queue.entries[request_id]
                if entry.locked(moment):
                    continue
                queue.lock(entry, expires, client_key)
                items.append({**entry.show_head(), 'lockExpiresAt': iso(expires)})
            locked = queue.has_locked_requests(moment)
            shown = {
                'limit': limit,
                'queueModifiedAt': iso(queue.modified_at),
                'hadMultipleClients': len(queue.clients) > 1,
                'lockSecs': lock_secs,
                'queueHasLockedRequests': locked,
                'clientKey': client_key,
                'items': items,
            }
        return data_reply(shown, 201)

    def add(self, call: Call) -> Reply:
        data = _check_request(call.json(), 'The request')
        body_id = call.json().get('id')
        if body_id is not None and body_id != request_id(data['uniqueKey']):
            raise invalid('Field "id" does not match "uniqueKey": leave the id out')
        with self.state.lock:
            queue = self._queue(call, write=True, client=True)
            result = self._insert(queue, data, call.flag('forefront'))
        return data_reply(result, 201)

    def batch_add(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, list):
            raise invalid('The body must be a JSON array of requests')
        if len(body) > MAX_BATCH:
            raise invalid(f'A batch takes at most {MAX_BATCH} requests, got {len(body)}')
        requests = [_check_request(item, f'Request {index}') for index, item in enumerate(body)]
        with self.state.lock:
            queue = self._queue(call, write=True, client=True)
            keep = len(requests)
            if self.unprocessed_plan:
                keep = max(len(requests) - self.unprocessed_plan.pop(0), 0)
            forefront = call.flag('forefront')
            processed = [self._insert(queue, data, forefront) for data in requests[:keep]]
            unprocessed = [
                {'uniqueKey': data['uniqueKey'], 'url': data['url'], 'method': data['method']}
                for data in requests[keep:]
            ]
        return data_reply({'processedRequests': processed, 'unprocessedRequests': unprocessed}, 201)

    def batch_delete(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, list):
            raise invalid('The body must be a JSON array of {"id"} or {"uniqueKey"} objects')
        if len(body) > MAX_BATCH:
            raise invalid(f'A batch takes at most {MAX_BATCH} requests, got {len(body)}')
        processed = []
        with self.state.lock:
            queue = self._queue(call, write=True, client=True)
            for index, item in enumerate(body):
                if not isinstance(item, dict) or not (item.get('id') or item.get('uniqueKey')):
                    raise invalid(f'Request {index} needs an "id" or a "uniqueKey"')
                identifier = item.get('id') or request_id(item['uniqueKey'])
                entry = queue.remove(identifier)
                unique_key = entry.data['uniqueKey'] if entry else item.get('uniqueKey')
                processed.append({'id': identifier, 'uniqueKey': unique_key})
        return data_reply({'processedRequests': processed, 'unprocessedRequests': []})

    def unlock(self, call: Call) -> Reply:
        client_key = call.query.get('clientKey') or None
        with self.state.lock:
            queue = self._queue(call, write=True, client=True)
            moment = now()
            count = 0
            for entry in list(queue.lock_holders.values()):
                if entry.locked(moment) and entry.lock_client == client_key:
                    queue.lock(entry, None, None)
                    count += 1
        return data_reply({'unlockedCount': count})

    def list_requests(self, call: Call) -> Reply:
        limit = call.number('limit', 100, minimum=1, maximum=10_000) or 100
        start = call.query.get('exclusiveStartId') or None
        cursor = call.query.get('cursor') or None
        if cursor is not None:
            try:
                start = json.loads(base64.urlsafe_b64decode(cursor + '=' * (-len(cursor) % 4)))[
                    'requestId'
                ]
            except (ValueError, KeyError, TypeError):
                raise invalid(
                    f'Query parameter "cursor" is not a valid cursor: {cursor!r}'
                ) from None
        filters = {f for f in (call.query.get('filter') or '').split(',') if f}
        unknown = filters - {'pending', 'locked'}
        if unknown:
            raise invalid(
                f'Unknown filter values: {", ".join(sorted(unknown))}; use pending, locked'
            )
        with self.state.lock:
            queue = self._queue(call)
            moment = now()
            entries = sorted(queue.entries.values(), key=lambda entry: entry.id)
            if start is not None:
                entries = [entry for entry in entries if entry.id > start]
            if filters:
                entries = [
                    entry
                    for entry in entries
                    if ('pending' in filters and not entry.handled)
                    or ('locked' in filters and entry.locked(moment))
                ]
            page = entries[:limit]
            items = [entry.show() for entry in page]
        next_cursor = None
        if len(entries) > limit and page:
            next_cursor = (
                base64.urlsafe_b64encode(json.dumps({'requestId': page[-1].id}).encode())
                .decode()
                .rstrip('=')
            )
        return data_reply(
            {
                'items': items,
                'count': len(items),
                'limit': limit,
                'exclusiveStartId': call.query.get('exclusiveStartId'),
                'cursor': cursor,
                'nextCursor': next_cursor,
            }
        )

    def get_request(self, call: Call) -> Reply:
        with self.state.lock:
            queue = self._queue(call)
            return data_reply(self._entry(queue, call).show())

    def update_request(self, call: Call) -> Reply:
        body = call.json()
        data = _check_request(body, 'The request')
        if body.get('id') not in (None, call.params['requestId']):
            raise invalid('Field "id" of the body does not match the request id in the path')
        if request_id(data['uniqueKey']) != call.params['requestId']:
            raise invalid('Field "uniqueKey" does not match the request id in the path')
        with self.state.lock:
            queue = self._queue(call, write=True, client=True)
            entry = self._entry(queue, call)
            was_handled = entry.handled
            queue.replace_data(entry, data)
            if entry.handled:
                queue.lock(entry, None, None)
            else:
                queue.move(entry, queue.next_order(call.flag('forefront')))
            return data_reply(
                {
                    'requestId': entry.id,
                    'uniqueKey': data['uniqueKey'],
                    'wasAlreadyPresent': True,
                    'wasAlreadyHandled': was_handled,
                }
            )

    def delete_request(self, call: Call) -> Reply:
        with self.state.lock:
            queue = self._queue(call, write=True, client=True)
            entry = self._entry(queue, call)
            self._check_lock_owner(entry, call)
            queue.remove(entry.id)
        return empty_reply()

    def _check_lock_owner(self, entry: Entry, call: Call) -> None:
        client_key = call.query.get('clientKey') or None
        if entry.locked(now()) and entry.lock_client != client_key:
            raise ApiError(
                403,
                'insufficient-permissions',
                f'Request {entry.id} is locked by another client',
            )

    def prolong_lock(self, call: Call) -> Reply:
        lock_secs = call.number('lockSecs', None, minimum=1)
        if lock_secs is None:
            raise invalid('Query parameter "lockSecs" is required: say how long to lock')
        with self.state.lock:
            queue = self._queue(call, write=True, client=True)
            entry = self._entry(queue, call)
            if entry.handled:
                raise invalid(f'Request {entry.id} is already handled and cannot be locked')
            self._check_lock_owner(entry, call)
            queue.lock(
                entry, now() + timedelta(seconds=lock_secs), call.query.get('clientKey') or None
            )
            if call.flag('forefront'):
                queue.move(entry, queue.next_order(True))
            return data_reply({'lockExpiresAt': iso(entry.lock_expires_at)})

    def delete_lock(self, call: Call) -> Reply:
        with self.state.lock:
            queue = self._queue(call, write=True, client=True)
            entry = self._entry(queue, call)
            self._check_lock_owner(entry, call)
            queue.lock(entry, None, None)
            if call.flag('forefront'):
                queue.move(entry, queue.next_order(True))
        return empty_reply()
