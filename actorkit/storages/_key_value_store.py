"""The public key-value store: values with a content type, under string keys."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from actorkit._errors import ActorStateError, InvalidStorageArgumentError
from actorkit.storages._backend import KeyValueStoreClient
from actorkit.storages._base import Storage
from actorkit.storages._kvs_models import KeyInfo, KeyListPage, KeyValueStoreMetadata
from actorkit.storages._serialization import (
    MISSING,
    check_key,
    check_read_key,
    deserialize_value,
    serialize_value,
)

if TYPE_CHECKING:
    from actorkit._state import State

_MAX_PAGE = 1000
"""The largest page of keys the platform returns."""


class AutoSavedValues(Protocol):
    """The run's keeper of auto-saved values (``use_state``), which a store hands out."""

    def auto_saved_value(
        self, store: KeyValueStore, key: str, default_value: Mapping[str, Any] | None
    ) -> State:
        """Return the dict kept in ``key`` of ``store``, loading it on first use."""
        ...

    def persist_auto_saved_values(self, store: KeyValueStore) -> None:
        """Save the auto-saved values of ``store`` now."""
        ...


class KeyValueStore(Storage[KeyValueStoreClient]):
    """A key-value store: records (a value and its content type) under string keys.

    Open one with ``actor.open_key_value_store()``. Every method blocks until done and is safe
    to call from any thread; the same store opened twice is the same object.

    Values round-trip by type: ``dict``, ``list``, ``int``, ``float`` and ``bool`` are stored as
    JSON (``application/json; charset=utf-8``, indented by 2) and come back as themselves;
    ``str`` is stored as ``text/plain; charset=utf-8``; ``bytes`` (also ``bytearray`` and
    ``memoryview``) as ``application/octet-stream``. Unlike the official SDK, which reads numbers
    and booleans back as strings and stores ``None`` as a record, actorkit keeps their type and
    treats ``set_value(key, None)`` as a delete.

    Keys written follow the platform rule: 1 to 256 characters from ``a-z A-Z 0-9 !-_.'()``.
    Reading, checking and deleting accept any key of 1 to 256 characters, so that records the
    official SDK stored locally under other keys stay reachable.
    """

    _OPEN_METHOD = 'open_key_value_store'

    def __init__(
        self,
        client: KeyValueStoreClient,
        *,
        auto_saved_values: AutoSavedValues | None = None,
    ) -> None:
        """Wrap a backend client; use ``actor.open_key_value_store()`` instead.

        Args:
            client: The backend's client of this store.
            auto_saved_values: The run's keeper of auto-saved values (``use_state``), which
                :meth:`get_auto_saved_value` hands out.
        """
        super().__init__(client)
        self._auto_saved_values = auto_saved_values

    def get_value(self, key: str, default_value: Any = None) -> Any:
        """Return the value stored under ``key``, or ``default_value`` if there is none.

        The value is read by its content type: JSON types (``application/json``, ``*+json``) are
        parsed, ``text/*`` is decoded to ``str``, anything else is ``bytes``.

        Args:
            key: The record key.
            default_value: What to return when the record does not exist.

        Returns:
            The stored value, or ``default_value``.

        Raises:
            TypeError: ``key`` is not a str.
            InvalidStorageArgumentError: ``key`` is empty or longer than 256 characters.
            StorageError: The record is not what its content type says (e.g. invalid JSON), or
                more than one file holds the key locally.
        """
        record = self._live().get_record(check_read_key(key))
        if record is None:
            return default_value
        body, content_type = record
        return deserialize_value(body, content_type, what=f'record {key!r} of {self._where()}')

    def set_value(self, key: str, value: Any, content_type: str | None = None) -> None:
        """Store ``value`` under ``key``; a value of ``None`` deletes the record.

        Nothing is written when the key or the value is refused.

        Args:
            key: The record key.
            value: A dict, list, str, int, float, bool, bytes-like value, or ``None``.
            content_type: The record's content type. By default it follows the value's type
                (see the class docstring). With a JSON type the value is serialized as JSON
                (bytes must already be valid JSON); with any other type the value must be
                ``str`` (encoded with the type's charset, UTF-8 by default) or bytes.

        Raises:
            TypeError: ``key`` or ``content_type`` is not a str.
            InvalidStorageArgumentError: The key breaks the platform's rule, or the value
                cannot be stored as its content type (a set, NaN, a dict as ``image/png``...).
        """
        check_key(key)
        client = self._live()
        if value is None:
            client.delete_record(key)
            return
        body, stored_type = serialize_value(key, value, content_type)
        client.set_record(key, body, stored_type)

    def delete_value(self, key: str) -> None:
        """Delete the record under ``key``; deleting a missing record is not an error.

        Args:
            key: The record key.

        Raises:
            TypeError: ``key`` is not a str.
            InvalidStorageArgumentError: ``key`` is empty or longer than 256 characters.
        """
        self._live().delete_record(check_read_key(key))

    def record_exists(self, key: str) -> bool:
        """Return whether a record exists under ``key``.

        Args:
            key: The record key.

        Returns:
            ``True`` if the record exists.

        Raises:
            TypeError: ``key`` is not a str.
            InvalidStorageArgumentError: ``key`` is empty or longer than 256 characters.
        """
        return self._live().record_exists(check_read_key(key))

    def list_keys(
        self,
        exclusive_start_key: str | None = None,
        limit: int = 1000,
        *,
        prefix: str | None = None,
    ) -> list[KeyInfo]:
        """Return the keys (with their sizes), in ascending order, as the official SDK does.

        Args:
            exclusive_start_key: List the keys after this one.
            limit: The most keys to return.
            prefix: Only list keys that start with this.

        Returns:
            Up to ``limit`` key records (``key``, ``size``, ``content_type``).

        Raises:
            InvalidStorageArgumentError: ``limit`` is not an int of 0 or more.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidStorageArgumentError(
                f'list_keys limit must be an int of 0 or more, got {limit!r}'
            )
        return list(self.iterate_keys(exclusive_start_key, limit, prefix=prefix))

    def list_keys_page(
        self,
        exclusive_start_key: str | None = None,
        limit: int = 1000,
        prefix: str | None = None,
    ) -> KeyListPage:
        """Return one page of keys, in ascending order, with the platform's paging fields.

        Args:
            exclusive_start_key: List the keys after this one (the previous page's
                ``next_exclusive_start_key``).
            limit: The page size, 1 to 1000.
            prefix: Only list keys that start with this.

        Returns:
            The page; ``is_truncated`` tells whether more keys follow.

        Raises:
            InvalidStorageArgumentError: ``limit`` is out of range.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_PAGE:
            raise InvalidStorageArgumentError(
                f'list_keys_page limit must be an int from 1 to {_MAX_PAGE}, got {limit!r}'
            )
        for label, text in (('exclusive_start_key', exclusive_start_key), ('prefix', prefix)):
            if text is not None and not isinstance(text, str):
                raise TypeError(f'{label} must be a str or None, not {type(text).__name__}')
        return self._live().list_keys(
            exclusive_start_key=exclusive_start_key, limit=limit, prefix=prefix
        )

    def iterate_keys(
        self,
        exclusive_start_key: str | None = None,
        limit: int | None = None,
        *,
        prefix: str | None = None,
    ) -> Iterator[KeyInfo]:
        """Yield keys (with their sizes) in ascending order, fetched page by page.

        Args:
            exclusive_start_key: Start after this key.
            limit: Yield at most this many keys (``None``: all).
            prefix: Only yield keys that start with this.

        Yields:
            One :class:`KeyInfo` per record.

        Raises:
            ValueError: ``limit`` is negative.
        """
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise TypeError(f'limit must be an int or None, not {type(limit).__name__}')
        if limit is not None and limit < 0:
            raise ValueError(f'limit must not be negative, got {limit}: pass 0 or more, or None')
        start = exclusive_start_key
        remaining = limit
        while remaining is None or remaining > 0:
            size = _MAX_PAGE if remaining is None else min(_MAX_PAGE, remaining)
            page = self.list_keys_page(exclusive_start_key=start, limit=size, prefix=prefix)
            yield from page.items
            if remaining is not None:
                remaining -= page.count
            if not page.is_truncated or page.next_exclusive_start_key is None:
                return
            start = page.next_exclusive_start_key

    def iterate_entries(
        self,
        exclusive_start_key: str | None = None,
        limit: int | None = None,
        *,
        prefix: str | None = None,
    ) -> Iterator[tuple[str, Any]]:
        """Yield ``(key, value)`` pairs, reading each value as the iteration reaches it.

        A record deleted while the iteration runs is skipped once its value is found missing.
        Arguments are those of :meth:`iterate_keys`.
        """
        for info in self.iterate_keys(exclusive_start_key, limit, prefix=prefix):
            value = self.get_value(info.key, MISSING)
            if value is not MISSING:
                yield info.key, value

    def iterate_values(
        self,
        exclusive_start_key: str | None = None,
        limit: int | None = None,
        *,
        prefix: str | None = None,
    ) -> Iterator[Any]:
        """Yield the values of the records; arguments are those of :meth:`iterate_keys`."""
        for _, value in self.iterate_entries(exclusive_start_key, limit, prefix=prefix):
            yield value

    def __iter__(self) -> Iterator[str]:
        """Iterate over the keys, as iterating a dict does."""
        return (info.key for info in self.iterate_keys())

    def get_auto_saved_value(
        self, key: str, default_value: Mapping[str, Any] | None = None
    ) -> State:
        """Return a dict kept in ``key`` and saved on every PERSIST_STATE and at exit.

        The same as ``actor.use_state(default_value, key)`` for this store: one dict per record,
        loaded from it (or a copy of ``default_value``), saved as a consistent snapshot.

        Raises:
            ActorStateError: The store was not opened through a running Actor.
        """
        if self._auto_saved_values is None:
            raise ActorStateError(
                'auto-saved values need a running Actor: open the store with '
                'actor.open_key_value_store()'
            )
        self._live()
        return self._auto_saved_values.auto_saved_value(self, key, default_value)

    def persist_autosaved_values(self) -> None:
        """Save every auto-saved value of this store now, without waiting for PERSIST_STATE.

        Unchanged values are not rewritten. A value that cannot be saved is logged, as at
        PERSIST_STATE.
        """
        self._live()
        if self._auto_saved_values is not None:
            self._auto_saved_values.persist_auto_saved_values(self)

    def purge(self) -> None:
        """Delete every record except the Actor input, keeping the store itself."""
        self._live().purge()

    def get_public_url(self, key: str) -> str:
        """Return a URL of the record under ``key`` (a ``file://`` URL locally).

        Args:
            key: The record key.

        Returns:
            The URL.

        Raises:
            TypeError: ``key`` is not a str.
            InvalidStorageArgumentError: ``key`` is empty or longer than 256 characters.
        """
        return self._live().get_public_url(check_read_key(key))

    def get_metadata(self) -> KeyValueStoreMetadata:
        """Return the store's metadata (id, name, timestamps).

        Returns:
            The metadata.
        """
        return self._live().get_metadata()

    def drop(self) -> None:
        """Delete the store and every record in it; this object is unusable afterwards."""
        self._live().drop()

    def _where(self) -> str:
        directory = getattr(self._client, 'directory', None)
        return str(directory) if directory is not None else f'key-value store {self.id}'
