"""The storage methods of the Actor: thin calls on the run's :class:`StorageManager`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from actorkit._state import State
    from actorkit._storage_manager import StorageManager
    from actorkit.charging import ChargeResult
    from actorkit.storages._dataset import Dataset
    from actorkit.storages._key_value_store import KeyValueStore
    from actorkit.storages._request_queue import RequestQueue


class ActorStorageMethods:
    """Opening storages, input, records, items and ``use_state``: the Actor's storage API.

    :class:`~actorkit.Actor` inherits them; each goes through :meth:`_storage`, which the
    Actor implements (it raises :class:`~actorkit.ActorStateError` when no run is going).
    """

    def _storage(self) -> StorageManager:
        raise NotImplementedError

    def _push_charged(
        self, dataset: Dataset, data: Any, charged_event_name: str | None
    ) -> ChargeResult | None:
        raise NotImplementedError  # ActorChargingMethods

    def open_key_value_store(
        self,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
        *,
        force_cloud: bool = False,
    ) -> KeyValueStore:
        """Open a key-value store: the run's default one when no argument is given.

        Args:
            id: The id of an existing store.
            name: A global named store (kept across runs, never purged), created if missing.
            alias: An unnamed store scoped to this run, created if missing.
            force_cloud: Open the store on the Apify platform even when running locally
                (needs ``APIFY_TOKEN``).

        Returns:
            The store; opening the same store again returns the same object.
        """
        return self._storage().open_key_value_store(
            id=id, name=name, alias=alias, force_cloud=force_cloud
        )

    def open_dataset(
        self,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
        *,
        force_cloud: bool = False,
    ) -> Dataset:
        """Open a dataset: the run's default one when no argument is given.

        Args:
            id: The id of an existing dataset.
            name: A global named dataset (kept across runs, never purged), created if missing.
            alias: An unnamed dataset scoped to this run, created if missing.
            force_cloud: Open the dataset on the Apify platform even when running locally
                (needs ``APIFY_TOKEN``).

        Returns:
            The dataset; opening the same dataset again returns the same object.
        """
        return self._storage().open_dataset(id=id, name=name, alias=alias, force_cloud=force_cloud)

    def open_request_queue(
        self,
        id: str | None = None,
        name: str | None = None,
        alias: str | None = None,
        *,
        force_cloud: bool = False,
    ) -> RequestQueue:
        """Open a request queue: the run's default one when no argument is given.

        Args:
            id: The id of an existing queue.
            name: A global named queue (kept across runs, never purged), created if missing.
            alias: An unnamed queue scoped to this run, created if missing.
            force_cloud: Open the queue on the Apify platform even when running locally
                (needs ``APIFY_TOKEN``).

        Returns:
            The queue; opening the same queue again returns the same object.
        """
        return self._storage().open_request_queue(
            id=id, name=name, alias=alias, force_cloud=force_cloud
        )

    def get_input(self) -> Any:
        """Return the Actor input.

        It is the record ``ACTOR_INPUT_KEY`` (normally ``INPUT``) of the default key-value
        store; off the platform also ``./INPUT.json`` in the working directory. Off the
        platform the defaults of ``.actor/input_schema.json`` are filled in and the input is
        checked against it, as the platform would.

        Returns:
            The input (normally a dict), or ``None`` when there is none.

        Raises:
            InputError: The input is malformed or does not match the input schema; the message
                names the file and position, or every invalid field.
        """
        return self._storage().get_input()

    def get_value(self, key: str, default_value: Any = None) -> Any:
        """Return a record of the default key-value store, or ``default_value``."""
        return self.open_key_value_store().get_value(key, default_value)

    def set_value(self, key: str, value: Any, content_type: str | None = None) -> None:
        """Write a record of the default key-value store (``None`` deletes it)."""
        self.open_key_value_store().set_value(key, value, content_type=content_type)

    def push_data(self, data: Any, charged_event_name: str | None = None) -> ChargeResult | None:
        """Append an item (a dict) or a list of items to the default dataset.

        Args:
            data: A dict, or a list of dicts.
            charged_event_name: A pay-per-event event to charge per pushed item too.

        In pay-per-event runs the synthetic ``apify-default-dataset-item`` event (when priced)
        and ``charged_event_name`` are charged per item, and only the items the budget pays
        for are pushed (the first ones). Under ``PRICE_PER_DATASET_ITEM`` pushes stop at
        ``ACTOR_MAX_PAID_DATASET_ITEMS`` items.

        Returns:
            The charge (of ``charged_event_name``, else of the synthetic event); ``None``
            when nothing is priced.
        """
        if charged_event_name is not None and not isinstance(charged_event_name, str):
            raise TypeError(
                f'charged_event_name must be a str or None, not {type(charged_event_name).__name__}'
            )
        if charged_event_name is not None and charged_event_name.startswith('apify-'):
            raise ValueError(
                f'cannot charge for the synthetic event {charged_event_name!r}: events starting '
                f'with "apify-" are charged by the platform itself; pass your own event name'
            )
        return self._push_charged(self.open_dataset(), data, charged_event_name)

    def use_state(
        self,
        default_value: Mapping[str, Any] | None = None,
        key: str | None = None,
        kvs_name: str | None = None,
    ) -> State:
        """Return a dict that is saved on every PERSIST_STATE and at exit.

        It is loaded from the record ``key`` (default ``APIFY_GLOBAL_STATE``, as the official
        SDK uses) of the default key-value store, or of the named store ``kvs_name``; when the
        record does not exist it starts as a copy of ``default_value``. Calling it again with the
        same key returns the same dict. Saving takes a consistent snapshot even while other
        threads change the dict; group related changes under ``state.lock``.

        Args:
            default_value: The initial state when nothing was saved yet.
            key: The record to keep the state in.
            kvs_name: A named key-value store to keep it in, instead of the default store.

        Returns:
            The state dict.
        """
        return self._storage().use_state(default_value, key, kvs_name)
