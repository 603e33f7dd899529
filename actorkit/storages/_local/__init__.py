r"""The local file-system storage backend: storages as folders, as the official SDK lays them out.

``<root>/{key_value_stores,datasets,request_queues}/<folder>/`` with a ``__metadata__.json`` in
each folder. How a storage is opened decides its folder, as in the official SDK:

- no argument: the default storage, folder ``default``, metadata ``name`` null;
- ``name=N``: the global named storage ``N``, folder ``N``, never purged;
- ``alias=A``: an unnamed storage of this run, folder ``A`` (``alias='default'`` is the default
  storage), purged on start like the default one;
- ``id=X``: the storage whose metadata has id ``X`` (the folders are scanned), or the default
  storage when ``X`` is the configured default id (``ACTOR_DEFAULT_*_ID``).

Names follow the platform rule the official SDK enforces: 1 to 63 letters, digits and hyphens,
not starting or ending with a hyphen (the 63 is the platform's limit). ``default`` is refused as
a name because its folder is the default storage's. Aliases may hold any characters that keep them
one path segment, as in the official SDK (no ``/``, ``\\``, NUL, ``.``, ``..``), but must not start
with ``.``: lock files (``.<folder>.lock``, beside the folders) start with a dot.

A folder's metadata is created with an exclusive create, so when several processes open the same
new storage at once exactly one id wins and all of them use it. The same storage opened twice
gives the same client object. Purge on start (``purge_on_start``) happens the first time this
backend opens an unnamed storage.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, cast

from actorkit._errors import InvalidStorageArgumentError, StorageError, StorageNotFoundError
from actorkit.storages._backend import (
    DatasetClient,
    KeyValueStoreClient,
    RequestQueueClient,
    check_one_choice,
)
from actorkit.storages._local._fs import (
    METADATA_FILE,
    StorageLock,
    atomic_create,
    format_datetime,
    now,
    random_id,
    read_storage_metadata,
)
from actorkit.storages._serialization import dump_json

__all__ = ['DEFAULT_FOLDER', 'LocalStorageBackend']

DEFAULT_FOLDER = 'default'
"""The folder of the default storage of each kind."""

KVS_DIR = 'key_value_stores'
DATASETS_DIR = 'datasets'
REQUEST_QUEUES_DIR = 'request_queues'

_KIND_WORDS = {
    KVS_DIR: 'key-value store',
    DATASETS_DIR: 'dataset',
    REQUEST_QUEUES_DIR: 'request queue',
}
_KIND_ALIASES = {
    'key_value_store': KVS_DIR,
    'key-value-store': KVS_DIR,
    'dataset': DATASETS_DIR,
    'request_queue': REQUEST_QUEUES_DIR,
    'request-queue': REQUEST_QUEUES_DIR,
}
_DEFAULT_ALIASES = frozenset({DEFAULT_FOLDER, '__default__'})
"""Aliases that mean the default storage (``__default__`` is crawlee's reserved alias)."""

_NAME_PATTERN = re.compile(r'[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?')
_NAME_RULE = '1 to 63 letters (a-z, A-Z), digits and hyphens, not starting or ending with a hyphen'


class _Target(NamedTuple):
    folder: str
    """The storage's folder name."""
    name: str | None
    """The global name, or ``None`` for an unnamed (default or alias) storage."""


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise InvalidStorageArgumentError(f'{what} name must be a str, not {type(name).__name__}')
    if name in _DEFAULT_ALIASES:
        raise InvalidStorageArgumentError(
            f"{what} name {name!r} is reserved: its folder is the default {what}'s. Open the "
            f'default {what} without arguments, or choose another name'
        )
    if _NAME_PATTERN.fullmatch(name) is None:
        raise InvalidStorageArgumentError(
            f'invalid {what} name {name!r}: a name is {_NAME_RULE} (the platform rule); rename '
            f'it, e.g. "my-{what.replace(" ", "-")}" (or use alias= for a storage of this run)'
        )
    return name


def _check_alias(alias: object, what: str) -> str:
    if not isinstance(alias, str):
        raise InvalidStorageArgumentError(f'{what} alias must be a str, not {type(alias).__name__}')
    if (
        not alias
        or alias in ('.', '..')
        or alias.startswith('.')
        or any(char in alias for char in '/\\\0')
        or len(alias.encode('utf-8', 'surrogatepass')) > 200
    ):
        raise InvalidStorageArgumentError(
            f'invalid {what} alias {alias!r}: an alias names a folder, so it must be 1 to 200 '
            f'bytes without "/", "\\" or NUL and must not start with "."; choose another alias'
        )
    return alias


def _is_unnamed(folder: str, stored_name: object) -> bool:
    # The CLI writes "name": "default" into the default storage's metadata.
    return stored_name is None or (folder == DEFAULT_FOLDER and stored_name == DEFAULT_FOLDER)


def _new_metadata(kind: str, storage_id: str, name: str | None) -> dict[str, Any]:
    stamp = format_datetime(now())
    data: dict[str, Any] = {
        'id': storage_id,
        'name': name,
        'accessed_at': stamp,
        'created_at': stamp,
        'modified_at': stamp,
    }
    if kind == DATASETS_DIR:
        data['item_count'] = 0
    elif kind == REQUEST_QUEUES_DIR:
        data.update(
            had_multiple_clients=False,
            handled_request_count=0,
            pending_request_count=0,
            total_request_count=0,
        )
    return data


class LocalStorageBackend:
    """Opens local storages under ``root`` (see the module docstring for the rules).

    Thread-safe. :meth:`close` flushes and releases every storage opened through it.
    """

    def __init__(
        self,
        root: Path,
        *,
        purge_on_start: bool,
        input_key: str = 'INPUT',
        default_ids: Mapping[str, str] | None = None,
    ) -> None:
        """Set up the backend; nothing is read or written until a storage is opened.

        Args:
            root: The local storage folder (``APIFY_LOCAL_STORAGE_DIR``).
            purge_on_start: Whether unnamed storages are emptied when first opened.
            input_key: The key of the Actor input, which purging the key-value store keeps.
            default_ids: The configured ids of the default storages, by kind (``datasets`` or
                ``dataset``, ``key_value_stores``, ``request_queues``). A new default storage
                gets this id, and opening by this id opens the default storage.
        """
        self._root = Path(root)
        self._purge_on_start = purge_on_start
        self._input_key = input_key
        self._default_ids: dict[str, str] = {}
        for kind, value in (default_ids or {}).items():
            normalized = _KIND_ALIASES.get(kind, kind)
            if normalized not in _KIND_WORDS:
                raise ValueError(
                    f'unknown storage kind {kind!r} in default_ids: use one of '
                    f'{", ".join(_KIND_WORDS)}'
                )
            if value:
                self._default_ids[normalized] = value
        self._mutex = threading.RLock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._named: dict[tuple[str, str], bool] = {}
        self._by_id: dict[tuple[str, str], tuple[str, str]] = {}
        self._locks: dict[tuple[str, str], StorageLock] = {}
        self._purged: set[tuple[str, str]] = set()
        self._closed = False

    @property
    def root(self) -> Path:
        """The local storage folder."""
        return self._root

    def __repr__(self) -> str:
        return f'<LocalStorageBackend root={str(self._root)!r}>'

    # ------------------------------------------------------------------ opening

    def open_key_value_store(
        self,
        *,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
    ) -> KeyValueStoreClient:
        """Open (creating if needed) a key-value store; see the module docstring."""
        return cast('KeyValueStoreClient', self._open(KVS_DIR, id, name, alias))

    def open_dataset(
        self,
        *,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
    ) -> DatasetClient:
        """Open (creating if needed) a dataset; see the module docstring."""
        return cast('DatasetClient', self._open(DATASETS_DIR, id, name, alias))

    def open_request_queue(
        self,
        *,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
    ) -> RequestQueueClient:
        """Open (creating if needed) a request queue; see the module docstring."""
        return cast('RequestQueueClient', self._open(REQUEST_QUEUES_DIR, id, name, alias))

    def _open(self, kind: str, id: str | None, name: str | None, alias: str | None) -> Any:
        if self._closed:
            raise StorageError('the local storage backend is closed; open storages before exit')
        check_one_choice(_KIND_WORDS[kind], id, name, alias)
        # Fast path: a storage already open (no file access, no lock).
        key: tuple[str, str] | None
        if id is not None:
            key = self._by_id.get((kind, id))
        elif name is not None:
            key = (kind, _check_name(name, _KIND_WORDS[kind]))
        elif alias is not None:
            alias = _check_alias(alias, _KIND_WORDS[kind])
            key = (kind, DEFAULT_FOLDER if alias in _DEFAULT_ALIASES else alias)
        else:
            key = (kind, DEFAULT_FOLDER)
        if key is not None:
            client = self._clients.get(key)
            if (
                client is not None
                and (id is not None or self._named.get(key) == (name is not None))
                and (kind != REQUEST_QUEUES_DIR or self._still_there(key))
            ):
                return client
        with self._mutex:
            if self._closed:
                raise StorageError('the local storage backend is closed')
            return self._open_locked(kind, id, name, alias)

    def _still_there(self, key: tuple[str, str]) -> bool:
        # A request queue client cannot go on once another process dropped its folder (its
        # journal is gone, unlike records and items that a write brings back): notice it by
        # the missing folder and open the queue afresh.
        if os.path.isdir(self._folder(key)):
            return True
        self._forget(key)
        return False

    def _folder(self, key: tuple[str, str]) -> Path:
        return self._root / key[0] / key[1]

    def _resolve(self, kind: str, id: str | None, name: str | None, alias: str | None) -> _Target:
        if id is not None:
            return self._find_by_id(kind, id)
        if name is not None:
            return _Target(name, name)
        if alias is not None and alias not in _DEFAULT_ALIASES:
            return _Target(alias, None)
        return _Target(DEFAULT_FOLDER, None)

    def _find_by_id(self, kind: str, storage_id: str) -> _Target:
        what = _KIND_WORDS[kind]
        if not isinstance(storage_id, str) or not storage_id:
            raise InvalidStorageArgumentError(f'a {what} id must be a non-empty str')
        if self._default_ids.get(kind) == storage_id:
            return _Target(DEFAULT_FOLDER, None)
        base = self._root / kind
        try:
            folders = sorted(entry.name for entry in os.scandir(base) if entry.is_dir())
        except FileNotFoundError:
            folders = []
        for folder in folders:
            if folder.startswith('.'):
                continue
            try:
                data = read_storage_metadata(base / folder / METADATA_FILE)
            except StorageError:
                continue
            if data is not None and str(data.get('id')) == storage_id:
                stored = data.get('name')
                named = not _is_unnamed(folder, stored)
                return _Target(folder, str(stored) if named else None)
        raise StorageNotFoundError(
            f'no {what} with id {storage_id!r} in {base}: check the id, or open the {what} by '
            f'name or alias (a local storage has the id its __metadata__.json gives)'
        )

    def _open_locked(self, kind: str, id: str | None, name: str | None, alias: str | None) -> Any:
        what = _KIND_WORDS[kind]
        known = self._by_id.get((kind, id)) if id is not None else None
        if known is not None and known in self._clients:
            target = _Target(known[1], known[1] if self._named[known] else None)
        else:
            target = self._resolve(kind, id, name, alias)
        key = (kind, target.folder)
        cached = self._clients.get(key)
        if cached is not None and (kind != REQUEST_QUEUES_DIR or self._still_there(key)):
            if self._named[key] != (target.name is not None):
                raise self._conflict(what, target, self._named[key])
            return cached
        directory = self._folder(key)
        data = self._ensure_metadata(kind, directory, target)
        if _is_unnamed(target.folder, data.get('name')) == (target.name is not None):
            raise self._conflict(what, target, target.name is None)
        storage_id = str(data['id'])
        client = self._build(kind, key, directory, data, target)
        if target.name is None and self._purge_on_start and key not in self._purged:
            client.purge()
        self._purged.add(key)
        self._clients[key] = client
        self._named[key] = target.name is not None
        self._by_id[(kind, storage_id)] = key
        if id is not None:
            self._by_id[(kind, id)] = key  # e.g. the configured default id
        return client

    def _conflict(
        self, what: str, target: _Target, folder_is_named: bool
    ) -> InvalidStorageArgumentError:
        where = self._root / (target.folder)
        if folder_is_named:
            return InvalidStorageArgumentError(
                f'the {what} folder {target.folder!r} holds the named {what} {target.folder!r}, '
                f'so it cannot be opened as an unnamed (alias) {what}: open it with '
                f'name={target.folder!r}, or choose another alias ({where})'
            )
        return InvalidStorageArgumentError(
            f'the {what} folder {target.folder!r} holds an unnamed {what} (opened by alias), so '
            f'it cannot be opened with name={target.folder!r}: open it with '
            f'alias={target.folder!r}, or choose another name'
        )

    def _ensure_metadata(self, kind: str, directory: Path, target: _Target) -> dict[str, Any]:
        """Return the folder's metadata, creating the folder and metadata if needed (race-free)."""
        meta_path = directory / METADATA_FILE
        data = read_storage_metadata(meta_path)
        if data is None:
            directory.mkdir(parents=True, exist_ok=True)
            storage_id = (
                self._default_ids.get(kind) if target.folder == DEFAULT_FOLDER else None
            ) or random_id()
            fresh = _new_metadata(kind, storage_id, target.name)
            if atomic_create(meta_path, dump_json(fresh)):
                return fresh
            data = read_storage_metadata(meta_path)  # another process won the race: use its
            if data is None:
                raise StorageError(f'{meta_path} vanished while it was being created; try again')
        if not isinstance(data.get('id'), (str, int)) or data.get('id') in ('', None):
            raise StorageError(
                f'{meta_path} has no "id": add one (17 letters and digits) or delete the file to '
                f'let actorkit write a new one'
            )
        return data

    def _build(
        self,
        kind: str,
        key: tuple[str, str],
        directory: Path,
        data: dict[str, Any],
        target: _Target,
    ) -> Any:
        def forget() -> None:
            self._forget(key)

        # Each kind's client module is imported when first needed: a run that only touches
        # its key-value store does not pay for the dataset and request queue code.
        if kind == KVS_DIR:
            from actorkit.storages._local import _key_value_store  # noqa: PLC0415

            return _key_value_store.LocalKeyValueStoreClient(
                directory=directory,
                lock=self._lock_for(key),
                metadata=_key_value_store.metadata_from_file(data, name=target.name),
                input_key=self._input_key,
                on_drop=forget,
            )
        if kind == DATASETS_DIR:
            from actorkit.storages._local import _dataset  # noqa: PLC0415

            dataset = _dataset.LocalDatasetClient(
                directory=directory,
                lock=self._lock_for(key),
                metadata=_dataset.metadata_from_file(data, name=target.name),
                on_drop=forget,
            )
            dataset.reconcile()
            return dataset
        from actorkit.storages._local import _request_queue  # noqa: PLC0415

        return _request_queue.LocalRequestQueueClient(
            directory=directory,
            lock=self._lock_for(key),
            metadata=_request_queue.metadata_from_file(data, name=target.name),
            on_drop=forget,
        )

    def _lock_for(self, key: tuple[str, str]) -> StorageLock:
        lock = self._locks.get(key)
        if lock is None:
            lock = StorageLock(self._root / key[0] / f'.{key[1]}.lock')
            self._locks[key] = lock
        return lock

    def _forget(self, key: tuple[str, str]) -> None:
        with self._mutex:
            self._clients.pop(key, None)
            self._named.pop(key, None)
            for id_key in [k for k, v in self._by_id.items() if v == key]:
                del self._by_id[id_key]

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Flush every open storage and release its files and locks; the backend is unusable after.

        Raises:
            OSError: A storage could not be flushed (the others are still closed).
        """
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            clients = list(self._clients.values())
            locks = list(self._locks.values())
            self._clients.clear()
            self._named.clear()
            self._by_id.clear()
            self._locks.clear()
        error: BaseException | None = None
        for client in clients:
            closer = getattr(client, 'close', None)
            if closer is None:
                continue
            try:
                closer()
            except Exception as exc:
                error = error or exc
        for lock in locks:
            lock.close()
        if error is not None:
            raise error
