"""The storage side of :class:`~actorkit.testing.FakePlatform`: seed and read storages, webhooks.

What a test calls to create storages, put data in them and check what an Actor stored;
the API a process under test calls lives in the resource modules (``_datasets.py``,
``_key_value_stores.py``, ``_request_queues.py``, ``_webhooks.py``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from actorkit.testing._fake_platform._common import ApiError
from actorkit.testing._fake_platform._key_value_stores import Record

if TYPE_CHECKING:
    from actorkit.testing._fake_platform._datasets import DatasetsApi
    from actorkit.testing._fake_platform._key_value_stores import KeyValueStoresApi
    from actorkit.testing._fake_platform._request_queues import RequestQueuesApi
    from actorkit.testing._fake_platform._state import State
    from actorkit.testing._fake_platform._webhooks import WebhooksApi


class PlatformStorageControls:
    """Storages and webhooks as a test seeds and checks them: FakePlatform inherits them."""

    if TYPE_CHECKING:  # provided by FakePlatform
        _state: State
        _datasets: DatasetsApi
        _key_value_stores: KeyValueStoresApi
        _request_queues: RequestQueuesApi
        _webhooks: WebhooksApi

    def _storage(self, kind: Any, id_or_name: str) -> Any:
        collection = kind.collection
        found = collection.get(id_or_name)
        if found is None:
            for storage in collection.values():
                if storage.name == id_or_name:
                    return storage
            try:
                found = kind.find(id_or_name)
            except ApiError:
                raise LookupError(
                    f'no {kind.label.lower()} {id_or_name!r} on this FakePlatform'
                ) from None
        return found

    def create_dataset(self, name: str | None = None) -> str:
        """Create a dataset (unnamed when ``name`` is ``None``) and return its id."""
        with self._state.lock:
            return str(self._datasets.kind.create(name).id)

    def create_key_value_store(self, name: str | None = None) -> str:
        """Create a key-value store (unnamed when ``name`` is ``None``) and return its id."""
        with self._state.lock:
            return str(self._key_value_stores.kind.create(name).id)

    def create_request_queue(self, name: str | None = None) -> str:
        """Create a request queue (unnamed when ``name`` is ``None``) and return its id."""
        with self._state.lock:
            return str(self._request_queues.kind.create(name).id)

    def dataset_items(self, dataset: str) -> list[dict[str, Any]]:
        """A copy of a dataset's items in push order.

        Args:
            dataset: Its id or name.

        Raises:
            LookupError: There is no such dataset.
        """
        with self._state.lock:
            items = self._storage(self._datasets.kind, dataset).items
            return json.loads(json.dumps(items))  # type: ignore[no-any-return]

    def record(self, store: str, key: str) -> tuple[bytes, str] | None:
        """A record as stored: ``(value, content_type)``, or ``None`` when there is none.

        Args:
            store: The key-value store's id or name.
            key: The record key.

        Raises:
            LookupError: There is no such store.
        """
        with self._state.lock:
            record = self._storage(self._key_value_stores.kind, store).records.get(key)
            return None if record is None else (record.value, record.content_type)

    def set_record(self, store: str, key: str, value: Any, content_type: str | None = None) -> None:
        """Store a record directly (to seed a test).

        Args:
            store: The key-value store's id or name.
            key: The record key.
            value: ``bytes`` or ``str`` as they are, anything else as JSON.
            content_type: Its Content-Type (default from the value's type).

        Raises:
            LookupError: There is no such store.
        """
        if isinstance(value, bytes):
            body, default_type = value, 'application/octet-stream'
        elif isinstance(value, str):
            body, default_type = value.encode('utf-8'), 'text/plain; charset=utf-8'
        else:
            body = json.dumps(value, ensure_ascii=False).encode('utf-8')
            default_type = 'application/json; charset=utf-8'
        with self._state.lock:
            found = self._storage(self._key_value_stores.kind, store)
            found.records[key] = Record(body, content_type or default_type)
            found.touch(write=True)

    def queue_requests(self, queue: str) -> list[dict[str, Any]]:
        """Every request of a queue in queue order, with ``id`` and ``handledAt``.

        Args:
            queue: The request queue's id or name.

        Raises:
            LookupError: There is no such queue.
        """
        with self._state.lock:
            entries = self._storage(self._request_queues.kind, queue).ordered()
            return json.loads(json.dumps([entry.show() for entry in entries]))  # type: ignore[no-any-return]

    def expire_locks(self, queue: str) -> int:
        """End every request lock of a queue now, as if their time ran out.

        Returns:
            How many locks were ended.

        Raises:
            LookupError: There is no such queue.
        """
        from actorkit.testing._fake_platform._common import now  # noqa: PLC0415

        with self._state.lock:
            moment = now()
            count = 0
            for entry in self._storage(self._request_queues.kind, queue).entries.values():
                if entry.locked(moment):
                    entry.lock_expires_at = moment - timedelta(milliseconds=1)
                    count += 1
            return count

    def webhooks(self) -> list[dict[str, Any]]:
        """Every webhook object (ad hoc ones included)."""
        with self._state.lock:
            return [hook.show() for hook in self._state.webhooks.values()]

    def webhook_dispatches(self) -> list[dict[str, Any]]:
        """Every dispatch recorded (a run ended that a webhook listened for), oldest first."""
        with self._state.lock:
            return self._webhooks._dispatches()
