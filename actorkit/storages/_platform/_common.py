"""What the platform storage clients share: id, name, metadata, drop, recognising errors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from actorkit._errors import ApifyApiError, StorageNotFoundError

if TYPE_CHECKING:
    from actorkit.client._base import StorageClient

ResourceT = TypeVar('ResourceT', bound='StorageClient')
MetadataT = TypeVar('MetadataT')

KIND_WORDS = {
    'key_value_stores': 'key-value store',
    'datasets': 'dataset',
    'request_queues': 'request queue',
}
"""How messages name each kind of storage."""


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(timezone.utc)


def timestamp(data: Mapping[str, Any], key: str) -> datetime:
    """Read an ISO timestamp of the API's metadata; a missing or odd one reads as now."""
    from actorkit._convert import parse_datetime  # noqa: PLC0415 (only platform runs need it)

    value = data.get(key)
    if value is None:
        return utc_now()
    try:
        return parse_datetime(value)
    except ValueError:
        return utc_now()


def count(data: Mapping[str, Any], key: str) -> int:
    """Read a counter of the API's metadata (0 when missing)."""
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def format_timestamp(value: datetime) -> str:
    """Write a datetime as the API does: ISO 8601 in UTC with milliseconds and a ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    text = value.astimezone(timezone.utc).isoformat(timespec='milliseconds')
    return text.replace('+00:00', 'Z')


def is_not_found(exc: BaseException) -> bool:
    """Whether an API error says the thing asked for does not exist."""
    return isinstance(exc, ApifyApiError) and exc.status_code == 404


def missing_storage(kind: str, storage_id: str) -> StorageNotFoundError:
    """The error for a storage that is gone from the platform (deleted, or a wrong id)."""
    what = KIND_WORDS[kind]
    return StorageNotFoundError(
        f'the {what} {storage_id!r} does not exist on the platform (it was deleted, or the id '
        f'is wrong): open it again by name or alias to create a new one'
    )


class PlatformStorageClient(ABC, Generic[ResourceT, MetadataT]):
    """Base of the platform clients of one storage: its id and name, metadata and drop."""

    _KIND: ClassVar[str]
    """The kind of storage, as :data:`KIND_WORDS` keys it (``datasets``...)."""

    def __init__(
        self,
        metadata: Mapping[str, Any],
        resource: ResourceT,
        on_drop: Callable[[], None] | None,
    ) -> None:
        self._id = str(metadata['id'])
        self._name: str | None = metadata.get('name') or None
        self._resource = resource
        self._on_drop = on_drop

    def __repr__(self) -> str:
        return f'<{type(self).__name__} id={self._id!r} name={self._name!r}>'

    @property
    def id(self) -> str:
        return self._id

    def get_metadata(self) -> MetadataT:
        data = self._resource.get()
        if data is None:
            raise missing_storage(self._KIND, self._id)
        return self._read_metadata(data)

    @abstractmethod
    def _read_metadata(self, data: dict[str, Any]) -> MetadataT:
        """Read the API's object of this storage."""

    def drop(self) -> None:
        try:
            self._resource.delete()
        except Exception as exc:
            if not is_not_found(exc):
                raise
        if self._on_drop is not None:
            self._on_drop()
