"""The platform storage backend: storages through the Apify API, as the official SDK opens them.

How a storage is opened decides which one it is, as in the official SDK 4.x at home:

- no argument: the run's default storage (``ACTOR_DEFAULT_{KEY_VALUE_STORE,DATASET,
  REQUEST_QUEUE}_ID``); when none is configured (a local run with ``force_cloud``), the storage
  of the alias ``__default__``;
- ``name=N``: the global named storage ``N``, created if missing (get-or-create);
- ``id=X``: the storage with id ``X``, or ``username~name``; a missing one is an error;
- ``alias=A``: an unnamed storage of this run. ``ACTOR_STORAGES_JSON`` (the storages the
  platform made for the Actor's schema) is looked up first; then the mapping the official SDK
  keeps in the record ``__STORAGE_ALIASES_MAPPING`` of the default key-value store, under the
  key ``<Kind>,<alias>,<hash of the public API URL and token>``. A missing alias gets a new
  unnamed storage, and the mapping record is updated, so a migrated or resurrected run (and the
  official SDK) finds the same storage. Off the platform the mapping is kept in memory only.
  ``default`` and ``__default__`` mean the default storage.

The same storage opened twice gives the same client object. The ``requests`` based API client
is imported here, so importing this module is what platform mode costs.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from actorkit._errors import InvalidStorageArgumentError, StorageError, StorageNotFoundError
from actorkit.storages._backend import (
    DatasetClient,
    KeyValueStoreClient,
    RequestQueueClient,
    check_one_choice,
)
from actorkit.storages._platform._common import KIND_WORDS
from actorkit.storages._platform._dataset import PlatformDatasetClient
from actorkit.storages._platform._key_value_store import PlatformKeyValueStoreClient
from actorkit.storages._platform._request_queue import (
    DEFAULT_LOCK_SECS,
    PlatformRequestQueueClient,
)

if TYPE_CHECKING:
    from actorkit._config import Configuration
    from actorkit.client import ApifyClient

__all__ = ['ALIAS_MAPPING_KEY', 'PlatformStorageBackend']

ALIAS_MAPPING_KEY = '__STORAGE_ALIASES_MAPPING'
"""The record of the default key-value store that maps aliases to storage ids."""

_DEFAULT_ALIASES = frozenset({'default', '__default__'})
_STORAGE_TYPES = {
    'key_value_stores': 'KeyValueStore',
    'datasets': 'Dataset',
    'request_queues': 'RequestQueue',
}
_STORAGES_JSON_KEYS = {
    'key_value_stores': ('keyValueStores', 'key_value_stores'),
    'datasets': ('datasets',),
    'request_queues': ('requestQueues', 'request_queues'),
}


def alias_hash(api_public_base_url: str, token: str) -> str:
    """The part of an alias mapping key that ties it to one API and token (as the official SDK)."""
    return hashlib.sha256(f'{api_public_base_url}{token}'.encode()).hexdigest()[:8]


class PlatformStorageBackend:
    """Opens storages on the platform for one run (see the module docstring for the rules).

    Thread-safe. :meth:`close` releases the request locks this run holds.
    """

    def __init__(
        self,
        config: Configuration,
        *,
        api: ApifyClient | None = None,
        lock_secs: int | None = None,
    ) -> None:
        """Set up the backend; nothing is sent until a storage is opened.

        Args:
            config: The run's configuration (token, API URL, default storage ids).
            api: The API client to use; by default one is built from ``config``.
            lock_secs: How long a fetched request stays locked without being prolonged.

        Raises:
            StorageError: ``config`` has no token.
        """
        if not config.token:
            raise StorageError(
                'platform storages need an API token: set APIFY_TOKEN (the platform sets it '
                'for Actor runs)'
            )
        self._config = config
        self._owns_api = api is None
        if api is None:
            from actorkit.client import ApifyClient  # noqa: PLC0415

            api = ApifyClient(
                str(config.token),
                api_url=config.api_base_url,
                api_public_url=config.api_public_base_url,
            )
        self._api = api
        self._lock_secs = DEFAULT_LOCK_SECS if lock_secs is None else lock_secs
        self._mutex = threading.RLock()
        self._alias_lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        """Open clients by (kind, storage id)."""
        self._routes: dict[tuple[str, str, str], str] = {}
        """(kind, 'id'|'name'|'alias'|'default', value) -> storage id, for opened storages."""
        self._alias_map: dict[str, str] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f'<PlatformStorageBackend api_url={self._config.api_base_url!r}>'

    @property
    def api(self) -> ApifyClient:
        """The API client the storages use."""
        return self._api

    # ------------------------------------------------------------------ opening

    def open_key_value_store(
        self, *, id: str | None = None, name: str | None = None, alias: str | None = None
    ) -> KeyValueStoreClient:
        """Open a key-value store; see the module docstring."""
        return cast('KeyValueStoreClient', self._open('key_value_stores', id, name, alias))

    def open_dataset(
        self, *, id: str | None = None, name: str | None = None, alias: str | None = None
    ) -> DatasetClient:
        """Open a dataset; see the module docstring."""
        return cast('DatasetClient', self._open('datasets', id, name, alias))

    def open_request_queue(
        self, *, id: str | None = None, name: str | None = None, alias: str | None = None
    ) -> RequestQueueClient:
        """Open a request queue; see the module docstring."""
        return cast('RequestQueueClient', self._open('request_queues', id, name, alias))

    def _open(self, kind: str, id: str | None, name: str | None, alias: str | None) -> Any:
        check_one_choice(KIND_WORDS[kind], id, name, alias)
        for label, value in (('id', id), ('name', name), ('alias', alias)):
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidStorageArgumentError(
                    f'a {KIND_WORDS[kind]} {label} must be a non-empty str, got {value!r}'
                )
        if alias is not None and alias in _DEFAULT_ALIASES:
            alias = None
        route = (
            (kind, 'id', id)
            if id is not None
            else (kind, 'name', name)
            if name is not None
            else (kind, 'alias', alias)
            if alias is not None
            else (kind, 'default', '')
        )
        with self._mutex:
            self._check_open()
            known = self._routes.get(route)
            if known is not None and (kind, known) in self._clients:
                return self._clients[(kind, known)]
        if id is not None:
            data = self._get(kind, id)
            if data is None:
                raise StorageNotFoundError(
                    f'no {KIND_WORDS[kind]} with id (or username~name) {id!r} on the platform '
                    f'({self._config.api_base_url}): check the id, or open it by name to create it'
                )
        elif name is not None:
            data = self._collection(kind).get_or_create(name=name)
        elif alias is not None:
            data = self._open_alias(kind, alias)
        else:
            data = self._open_default(kind)
        return self._remember(kind, route, data)

    def _remember(self, kind: str, route: tuple[str, str, str], data: dict[str, Any]) -> Any:
        storage_id = str(data['id'])
        with self._mutex:
            self._check_open()
            client = self._clients.get((kind, storage_id))
            if client is None:
                client = self._build(kind, data)
                self._clients[(kind, storage_id)] = client
            self._routes[route] = storage_id
            self._routes[(kind, 'id', storage_id)] = storage_id
            return client

    def _build(self, kind: str, data: dict[str, Any]) -> Any:
        storage_id = str(data['id'])

        def forget() -> None:
            with self._mutex:
                self._clients.pop((kind, storage_id), None)
                for route in [
                    r for r, v in self._routes.items() if r[0] == kind and v == storage_id
                ]:
                    del self._routes[route]

        if kind == 'key_value_stores':
            kept = {self._config.input_key}
            if storage_id == self._config.default_key_value_store_id:
                kept.add(ALIAS_MAPPING_KEY)
            return PlatformKeyValueStoreClient(self._api, data, kept_on_purge=kept, on_drop=forget)
        if kind == 'datasets':
            return PlatformDatasetClient(self._api, data, on_drop=forget)
        return PlatformRequestQueueClient(
            self._api, data, lock_secs=self._lock_secs, on_drop=forget
        )

    def _collection(self, kind: str) -> Any:
        if kind == 'key_value_stores':
            return self._api.key_value_stores()
        if kind == 'datasets':
            return self._api.datasets()
        return self._api.request_queues()

    def _resource(self, kind: str, storage_id: str) -> Any:
        if kind == 'key_value_stores':
            return self._api.key_value_store(storage_id)
        if kind == 'datasets':
            return self._api.dataset(storage_id)
        return self._api.request_queue(storage_id)

    def _get(self, kind: str, storage_id: str) -> dict[str, Any] | None:
        data: dict[str, Any] | None = self._resource(kind, storage_id).get()
        return data

    def _default_id(self, kind: str) -> str | None:
        config = self._config
        return {
            'key_value_stores': config.default_key_value_store_id,
            'datasets': config.default_dataset_id,
            'request_queues': config.default_request_queue_id,
        }[kind]

    def _open_default(self, kind: str) -> dict[str, Any]:
        default_id = self._default_id(kind)
        if default_id is None:
            return self._open_alias(kind, '__default__')
        data = self._get(kind, default_id)
        if data is None:  # as the official SDK: a missing default storage is made anew
            data = self._collection(kind).get_or_create()
        return cast('dict[str, Any]', data)

    # ------------------------------------------------------------------ aliases

    def _alias_key(self, kind: str, alias: str) -> str:
        token = str(self._config.token or '')
        digest = alias_hash(self._config.api_public_base_url, token)
        return f'{_STORAGE_TYPES[kind]},{alias},{digest}'

    def _open_alias(self, kind: str, alias: str) -> dict[str, Any]:
        # One alias is resolved at a time, so two threads never create two storages for it.
        with self._alias_lock:
            storage_id = self._configured_alias(kind, alias)
            if storage_id is None:
                storage_id = self._alias_mapping().get(self._alias_key(kind, alias))
            if storage_id is not None:
                data = self._get(kind, storage_id)
                if data is not None:
                    return data
            data = self._collection(kind).get_or_create()
            self._store_alias(kind, alias, str(data['id']))
            return cast('dict[str, Any]', data)

    def _configured_alias(self, kind: str, alias: str) -> str | None:
        storages = self._config.actor_storages_json
        if not isinstance(storages, dict):
            return None
        for key in _STORAGES_JSON_KEYS[kind]:
            mapping = storages.get(key)
            if isinstance(mapping, dict) and isinstance(mapping.get(alias), str):
                return str(mapping[alias])
        return None

    def _mapping_store(self) -> Any:
        default_id = self._config.default_key_value_store_id
        if not self._config.is_at_home or not default_id:
            return None
        return self._api.key_value_store(default_id)

    def _alias_mapping(self) -> dict[str, str]:
        if self._alias_map is None:
            mapping: dict[str, str] = {}
            store = self._mapping_store()
            if store is not None:
                record = store.get_record(ALIAS_MAPPING_KEY)
                value = record.get('value') if record else None
                if isinstance(value, dict):
                    mapping = {str(k): str(v) for k, v in value.items() if isinstance(v, str)}
            self._alias_map = mapping
        return self._alias_map

    def _store_alias(self, kind: str, alias: str, storage_id: str) -> None:
        key = self._alias_key(kind, alias)
        self._alias_mapping()[key] = storage_id
        store = self._mapping_store()
        if store is None:
            return
        # Read again before writing: another process of the run may have added an alias.
        record = store.get_record(ALIAS_MAPPING_KEY)
        value = record.get('value') if record else None
        mapping = dict(value) if isinstance(value, dict) else {}
        mapping[key] = storage_id
        store.set_record(ALIAS_MAPPING_KEY, mapping)

    # ------------------------------------------------------------------ closing

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError('the platform storage backend is closed; open storages before exit')

    def close(self) -> None:
        """Release the request locks this run holds; the backend is unusable after."""
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            clients = list(self._clients.values())
            self._clients.clear()
            self._routes.clear()
        for client in clients:
            closer: Callable[[], None] | None = getattr(client, 'close', None)
            if closer is not None:
                closer()
        api_close = getattr(self._api, 'close', None)
        if self._owns_api and callable(api_close):
            api_close()
