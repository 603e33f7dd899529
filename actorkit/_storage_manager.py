"""The storages of one Actor run: the backend, opened storages, input and ``use_state``."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from actorkit._config import Configuration
from actorkit._errors import ActorStateError, InvalidStorageArgumentError
from actorkit._state import DEFAULT_STATE_KEY, State, StateSaver, initial_state

if TYPE_CHECKING:
    from actorkit.storages._backend import StorageBackend
    from actorkit.storages._dataset import Dataset, PushGate
    from actorkit.storages._key_value_store import KeyValueStore
    from actorkit.storages._request_queue import RequestQueue
    from actorkit.storages._run_purge import RunPurge

_log = logging.getLogger('actorkit.storage')
_T = TypeVar('_T')


def _check_open_args(id: str | None, name: str | None, alias: str | None) -> None:
    given = [label for label, value in (('id', id), ('name', name), ('alias', alias)) if value]
    if len(given) > 1:
        raise InvalidStorageArgumentError(
            f'open a storage by one of id, name or alias, not by {" and ".join(given)}'
        )
    for label, value in (('id', id), ('name', name), ('alias', alias)):
        if value is not None and not isinstance(value, str):
            raise InvalidStorageArgumentError(
                f'storage {label} must be a str, not {type(value).__name__}'
            )


class StorageManager:
    """Opens storages for one run; the same storage opened twice is the same object."""

    def __init__(self, config: Configuration) -> None:
        self._config = config
        self._lock = threading.RLock()
        self._backend: StorageBackend | None = None
        self._cloud_backend: StorageBackend | None = None
        self._opened: dict[int, Any] = {}
        self._savers: dict[tuple[str, str], StateSaver] = {}
        self._closed = False
        self._run_purge: RunPurge | None = None
        self.push_gate: PushGate | None = None
        """Set by the Actor: pushes to the default dataset go through the run's charging."""
        if not config.is_at_home:
            # The run's token goes into os.environ now, before the Actor can start a worker.
            from actorkit.storages._run_purge import RunPurge  # noqa: PLC0415

            self._run_purge = RunPurge(self.root)

    @property
    def root(self) -> Path:
        """The local storage folder."""
        return Path(self._config.local_storage_dir)

    def backend(self, force_cloud: bool = False) -> StorageBackend:
        """The backend storages are opened with: the platform's at home, else the local one.

        Args:
            force_cloud: Use the platform even off it (needs ``APIFY_TOKEN``).
        """
        with self._lock:
            if self._closed:
                raise ActorStateError('the Actor has exited: call actor.init() to use storages')
            if force_cloud or self._config.is_at_home:
                return self._platform_backend(force_cloud)
            if self._backend is None:
                from actorkit.storages._local import LocalStorageBackend  # noqa: PLC0415

                default_ids = {
                    kind: value
                    for kind, value in (
                        ('key_value_stores', self._config.default_key_value_store_id),
                        ('datasets', self._config.default_dataset_id),
                        ('request_queues', self._config.default_request_queue_id),
                    )
                    if value
                }
                self._backend = LocalStorageBackend(
                    self.root,
                    purge_on_start=False,  # once per run, by _wrap (see _run_purge)
                    input_key=self._config.input_key,
                    default_ids=default_ids,
                )
            return self._backend

    def _platform_backend(self, force_cloud: bool) -> StorageBackend:
        if self._cloud_backend is None:
            if not self._config.token:
                where = '' if self._config.is_at_home else ' (force_cloud=True from a local run)'
                raise ActorStateError(
                    f'platform storages{where} need an API token: set APIFY_TOKEN, e.g. from '
                    f'`apify login` or the Integrations page of the Apify Console'
                )
            from actorkit.storages._platform import PlatformStorageBackend  # noqa: PLC0415

            self._cloud_backend = PlatformStorageBackend(
                self._config, lock_secs=self._config.request_queue_lock_secs
            )
        return self._cloud_backend

    def _wrap(self, client: Any, build: Callable[[Any], _T], kind: str | None = None) -> _T:
        """Return the public object of ``client``, building it on first use.

        ``kind`` (a local storage's folder kind) asks for the purge on start: an unnamed local
        storage is purged once per run, before anyone gets its object.
        """
        with self._lock:
            opened = self._opened.get(id(client))
            if opened is None or opened[0] is not client:
                if (
                    kind is not None
                    and self._run_purge is not None
                    and self._config.purge_on_start
                    and client.get_metadata().name is None
                ):
                    self._run_purge.purge_once(kind, client)
                opened = (client, build(client))
                self._opened[id(client)] = opened
            result: _T = opened[1]
            return result

    def _gate_default_push(
        self, items: list[Any], push: Callable[[list[Any]], None], item_count: Callable[[], int]
    ) -> None:
        gate = self.push_gate
        if gate is None or self._closed:
            push(items)  # after exit the dataset itself says it has ended
        else:
            gate(items, push, item_count)

    def purge_once_per_run(self, kind: str, client: Any) -> None:
        """Purge a local storage once per run, whichever process of the run comes first.

        For named storages a run owns all the same (the ``charging-log`` dataset).
        """
        if self._run_purge is not None:
            with self._lock:
                self._run_purge.purge_once(kind, client)

    def open_key_value_store(
        self,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
        force_cloud: bool = False,
    ) -> KeyValueStore:
        from actorkit.storages._key_value_store import KeyValueStore  # noqa: PLC0415

        _check_open_args(id, name, alias)
        client = self.backend(force_cloud).open_key_value_store(id=id, name=name, alias=alias)
        return self._wrap(
            client,
            lambda c: KeyValueStore(c, auto_saved_values=self),
            None if force_cloud else 'key_value_stores',
        )

    def open_dataset(
        self,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
        force_cloud: bool = False,
    ) -> Dataset:
        from actorkit.storages._dataset import Dataset  # noqa: PLC0415

        _check_open_args(id, name, alias)
        client = self.backend(force_cloud).open_dataset(id=id, name=name, alias=alias)
        default = not (id or name or alias or force_cloud)
        return self._wrap(
            client,
            lambda c: Dataset(
                c,
                open_key_value_store=self.open_key_value_store,
                push_gate=self._gate_default_push if default else None,
            ),
            None if force_cloud else 'datasets',
        )

    def open_request_queue(
        self,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
        force_cloud: bool = False,
    ) -> RequestQueue:
        from actorkit.storages._request_queue import RequestQueue  # noqa: PLC0415

        _check_open_args(id, name, alias)
        client = self.backend(force_cloud).open_request_queue(id=id, name=name, alias=alias)
        return self._wrap(client, RequestQueue, None if force_cloud else 'request_queues')

    def get_input(self) -> Any:
        from actorkit._input_secrets import decrypt_input_secrets  # noqa: PLC0415
        from actorkit.storages._input import load_input  # noqa: PLC0415

        store = self.open_key_value_store()
        cwd = Path(os.getcwd())
        value = load_input(
            store.client,
            input_key=self._config.input_key,
            store_location=(
                f'the default key-value store {store.id} on the platform'
                if self._config.is_at_home
                else str(self.root / 'key_value_stores' / 'default')
            ),
            fallback_dir=None if self._config.is_at_home else cwd,
            actor_dir=None if self._config.is_at_home else cwd,
            validate=not self._config.is_at_home,
        )
        # After the schema's checks, which skip encrypted values and so never see a secret.
        return decrypt_input_secrets(value, self._config)

    def use_state(
        self,
        default_value: Mapping[str, Any] | None,
        key: str | None,
        kvs_name: str | None,
    ) -> State:
        store = self.open_key_value_store(name=kvs_name)
        return self.auto_saved_value(
            store, DEFAULT_STATE_KEY if key is None else key, default_value
        )

    def auto_saved_value(
        self, store: KeyValueStore, key: str, default_value: Mapping[str, Any] | None
    ) -> State:
        """The State kept in ``key`` of ``store``: one per record, saved on PERSIST_STATE."""
        from actorkit.storages._serialization import check_key  # noqa: PLC0415

        # A key that can never be written would fail at every PERSIST_STATE: refuse it now.
        state_key = check_key(key)
        with self._lock:
            saver = self._savers.get((store.id, state_key))
            if saver is not None:
                return saver.state
            stored = store.get_value(state_key)
            state = initial_state(stored, default_value, state_key)
            saver = StateSaver(state, state_key, store.set_value)
            if stored is not None:
                saver.mark_loaded()
            self._savers[(store.id, state_key)] = saver
            return state

    def persist_auto_saved_values(self, store: KeyValueStore) -> None:
        """Save the auto-saved values of ``store`` now (``persist_autosaved_values()``)."""
        with self._lock:
            savers = [saver for (owner, _), saver in self._savers.items() if owner == store.id]
        self._save(savers)

    def persist_states(self) -> None:
        """Save every ``use_state`` value (on PERSIST_STATE)."""
        with self._lock:
            savers = list(self._savers.values())
        self._save(savers)

    @staticmethod
    def _save(savers: list[StateSaver]) -> None:
        for saver in savers:
            try:
                saver.save()
            except Exception:
                _log.exception(
                    'saving state %r failed; it is retried at the next PERSIST_STATE', saver.key
                )

    def close(self) -> None:
        """Release the backend; the storages of this run cannot be used after."""
        with self._lock:
            self._closed = True
            backend, self._backend = self._backend, None
            cloud, self._cloud_backend = self._cloud_backend, None
            opened, self._opened = self._opened, {}
            self._savers.clear()
            for _, storage in opened.values():
                storage.end_run()
            if self._run_purge is not None:
                self._run_purge.close()
        try:
            if cloud is not None:
                cloud.close()
        finally:
            if backend is not None:
                backend.close()
