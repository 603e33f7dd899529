"""The contract between the public storage classes and a storage backend.

The public classes (``KeyValueStore``, ``Dataset``, ``RequestQueue``) validate arguments,
serialize values and page through results; a backend only moves bytes and rows. Two backends
implement this: the local file system (``actorkit.storages._local``) and, on the platform, the
API client. Every method is blocking and must be safe to call from any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from actorkit._errors import InvalidStorageArgumentError

if TYPE_CHECKING:
    from actorkit.storages._dataset_models import DatasetMetadata, DatasetPage
    from actorkit.storages._kvs_models import KeyListPage, KeyValueStoreMetadata
    from actorkit.storages._request_models import ProcessedRequest, Request, RequestQueueMetadata


def check_one_choice(what: str, id: str | None, name: str | None, alias: str | None) -> None:
    """Refuse opening a storage (``what``: ``dataset``...) by more than one of id, name, alias.

    Raises:
        InvalidStorageArgumentError: Two or three of them are given.
    """
    given = [
        label
        for label, value in (('id', id), ('name', name), ('alias', alias))
        if value is not None
    ]
    if len(given) > 1:
        raise InvalidStorageArgumentError(
            f'open a {what} by one of id, name or alias, not by {" and ".join(given)}'
        )


class KeyValueStoreClient(Protocol):
    """Raw record access to one key-value store."""

    @property
    def id(self) -> str: ...

    def get_metadata(self) -> KeyValueStoreMetadata: ...

    def get_record(self, key: str) -> tuple[bytes, str] | None:
        """Return ``(body, content_type)`` of a record, or ``None`` when it does not exist."""
        ...

    def set_record(self, key: str, body: bytes, content_type: str) -> None: ...

    def delete_record(self, key: str) -> None:
        """Delete a record; deleting a missing record is not an error."""
        ...

    def record_exists(self, key: str) -> bool: ...

    def list_keys(
        self, *, exclusive_start_key: str | None, limit: int, prefix: str | None
    ) -> KeyListPage: ...

    def get_public_url(self, key: str) -> str: ...

    def purge(self) -> None:
        """Delete the contents, keeping the storage (a key-value store keeps the input)."""
        ...

    def drop(self) -> None: ...


class DatasetClient(Protocol):
    """Row access to one dataset."""

    @property
    def id(self) -> str: ...

    def get_metadata(self) -> DatasetMetadata: ...

    def push_items(self, items: Sequence[dict[str, Any]]) -> None:
        """Append items atomically as a batch; raise before writing anything if one is bad."""
        ...

    def get_items(
        self,
        *,
        offset: int,
        limit: int | None,
        desc: bool,
        fields: Sequence[str] | None,
        omit: Sequence[str] | None,
        clean: bool,
        skip_empty: bool,
        skip_hidden: bool,
    ) -> DatasetPage: ...

    def purge(self) -> None:
        """Delete the contents, keeping the storage (a key-value store keeps the input)."""
        ...

    def drop(self) -> None: ...


class RequestQueueClient(Protocol):
    """Request access to one request queue."""

    @property
    def id(self) -> str: ...

    def get_metadata(self) -> RequestQueueMetadata: ...

    def add_requests(
        self, requests: Sequence[Request], *, forefront: bool
    ) -> list[ProcessedRequest]: ...

    def get_request(self, request_id: str) -> Request | None: ...

    def fetch_next_request(self) -> Request | None:
        """Return the next pending request and lock it for this client, or ``None``."""
        ...

    def mark_request_as_handled(self, request: Request) -> ProcessedRequest | None: ...

    def reclaim_request(self, request: Request, *, forefront: bool) -> ProcessedRequest | None: ...

    def is_empty(self) -> bool:
        """Whether no request is waiting to be fetched (in-progress ones do not count)."""
        ...

    def is_finished(self) -> bool:
        """Whether every request is handled (none waiting, none in progress)."""
        ...

    def purge(self) -> None:
        """Delete the contents, keeping the storage (a key-value store keeps the input)."""
        ...

    def drop(self) -> None: ...


class StorageBackend(Protocol):
    """Opens storages. The same storage opened twice gives the same client object."""

    def open_key_value_store(
        self, *, id: str | None, name: str | None, alias: str | None
    ) -> KeyValueStoreClient: ...

    def open_dataset(
        self, *, id: str | None, name: str | None, alias: str | None
    ) -> DatasetClient: ...

    def open_request_queue(
        self, *, id: str | None, name: str | None, alias: str | None
    ) -> RequestQueueClient: ...

    def close(self) -> None:
        """Flush what is buffered and release locks and files; the backend is unusable after."""
        ...
